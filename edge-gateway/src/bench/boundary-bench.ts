// Window boundary benchmark (#17): what the gateway does when the windows of 1,000 machines × 8 sensors
// all close at once — close and assemble, encode (and checkpoint), one outbox transaction, Publish —
// and how long ingest waits for it (event-loop delay). Two gateways run in this process, one sending
// FeatureBatch messages (the default) and one sending a message per machine (featureBatches.enabled
// false, the baseline); their boundaries alternate so both see the same phases of a shared machine.
// The Pub/Sub emulator runs in a child process so its work is not counted as the gateway's.
// Usage: npm run bench:boundary -w @pdm/edge-gateway   (after a build)
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as yieldTurn, setTimeout as delay } from 'node:timers/promises';
import { PubSub } from '@google-cloud/pubsub';
import { pino } from 'pino';
import { gatewayConfigSchema } from '../config/index.js';
import { type RunningGateway, startGateway } from '../gateway.js';
import { windowEngineOptionsSchema } from '../window/options.js';

const here = new URL('.', import.meta.url).pathname;
const MACHINES = 1_000;
const SENSORS = 8;
/** Readings per sensor per window besides the one that crosses the boundary. */
const READINGS_PER_WINDOW = 10;
const BOUNDARIES = Number(process.env.BENCH_BOUNDARIES ?? 5);
const LAG_RESOLUTION_MS = 2;
/** The gateway's defaults, which the gateways here run with. */
const { windowMs, allowedLatenessMs } = windowEngineOptionsSchema.parse({ gatewayId: 'bench', siteId: 'bench' });

process.env.METADATA_SERVER_DETECTION ??= 'none';
const machineIds = Array.from({ length: MACHINES }, (_, i) => `machine-${String(i).padStart(4, '0')}`);
const sensorIds = Array.from({ length: SENSORS }, (_, i) => `s${i}`);

// Every Publish request the official client sends, and the messages in it: counted where the client
// makes the request, in whichever gateway (only one is at a boundary at a time).
let publishRequests = 0;
let publishedMessages = 0;
// A topic binds its request method to its PubSub's at construction: count there, before any starts.
type RequestConfig = { method?: string; reqOpts?: { messages?: unknown[] } };
// eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the PubSub as `this`
const request = PubSub.prototype.request as (this: PubSub, config: RequestConfig, callback: unknown) => unknown;
PubSub.prototype.request = function (this: PubSub, config: RequestConfig, callback: unknown) {
  if (config.method === 'publish') {
    publishRequests++;
    publishedMessages += config.reqOpts?.messages?.length ?? 0;
  }
  return request.call(this, config, callback);
};

interface Boundary {
  /** CPU milliseconds of this process (user + system), by phase and in all. */
  closeCpuMs: number;
  encodeCpuMs: number;
  outboxCpuMs: number;
  publishCpuMs: number;
  totalCpuMs: number;
  /** Wall-clock milliseconds from the boundary until Pub/Sub confirmed every window (outbox depth 0). */
  wallMs: number;
  windows: number;
  requests: number;
  messages: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

/** CPU milliseconds between two process.cpuUsage() readings. */
const cpuMs = (to: NodeJS.CpuUsage, from: NodeJS.CpuUsage) => (to.user + to.system - from.user - from.system) / 1000;

class BenchGateway {
  private readonly lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  /** CPU usage when the boundary's outbox transaction (its windows) started and ended. */
  private appendStarted: NodeJS.CpuUsage | undefined;
  private appendEnded: NodeJS.CpuUsage | undefined;

  constructor(
    readonly name: string,
    readonly gateway: RunningGateway,
  ) {
    // Time the outbox transaction: the writer calls this object's append.
    const outbox = gateway.outbox;
    const append = outbox.append.bind(outbox);
    // Only the first one holding windows: a periodic checkpoint may also write during a boundary.
    outbox.append = (...args) => {
      if (args[0].length === 0 || this.appendEnded !== undefined) return append(...args);
      this.appendStarted = process.cpuUsage();
      try {
        return append(...args);
      } finally {
        this.appendEnded = process.cpuUsage();
      }
    };
  }

  /** Readings of window `start` for every sensor of every machine, after the one that crossed into it. */
  async fill(windowStart: number, latenessMs: number): Promise<void> {
    for (let m = 0; m < MACHINES; m++) {
      for (let j = 1; j <= READINGS_PER_WINDOW; j++) {
        const ts = windowStart + latenessMs + j * 700;
        for (let s = 0; s < SENSORS; s++) this.gateway.engine.add(machineIds[m]!, sensorIds[s]!, ts, 20 + Math.sin(m + s + j));
      }
      if (m % 100 === 99) await yieldTurn();
    }
  }

  /**
   * Every sensor's next reading, in one turn, carries its watermark to the end of the window: every
   * machine's window closes at once. Measures until Pub/Sub confirmed them all.
   */
  async boundary(nextWindowStart: number, latenessMs: number): Promise<Boundary> {
    await this.drained();
    const windowsBefore = this.gateway.metrics.windows;
    const windowCount = async () => (await windowsBefore.get()).values.reduce((sum, v) => sum + v.value, 0);
    const windowsAtStart = await windowCount();
    const requestsBefore = publishRequests;
    const messagesBefore = publishedMessages;
    this.appendStarted = this.appendEnded = undefined;
    this.lag.enable();
    this.lag.reset();
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    const ts = nextWindowStart + latenessMs;
    for (let m = 0; m < MACHINES; m++) for (let s = 0; s < SENSORS; s++) this.gateway.engine.add(machineIds[m]!, sensorIds[s]!, ts, 20);
    const cpuClosed = process.cpuUsage();
    while (this.gateway.outbox.stats().depth > 0 || this.appendEnded === undefined) {
      await delay(1);
      if (performance.now() - started > 30_000) throw new Error(`${this.name}: windows still in the outbox 30 s after the boundary`);
    }
    const cpuEnd = process.cpuUsage();
    const wallMs = performance.now() - started;
    this.lag.disable();
    const appendStarted = this.appendStarted ?? cpuClosed;
    const appendEnded = this.appendEnded;
    return {
      closeCpuMs: cpuMs(cpuClosed, cpu0),
      encodeCpuMs: cpuMs(appendStarted, cpuClosed),
      outboxCpuMs: cpuMs(appendEnded, appendStarted),
      publishCpuMs: cpuMs(cpuEnd, appendEnded),
      totalCpuMs: cpuMs(cpuEnd, cpu0),
      wallMs,
      windows: (await windowCount()) - windowsAtStart,
      requests: publishRequests - requestsBefore,
      messages: publishedMessages - messagesBefore,
      lagP50Ms: this.lag.percentile(50) / 1e6,
      lagP99Ms: this.lag.percentile(99) / 1e6,
      lagMaxMs: this.lag.max / 1e6,
    };
  }

  /** Waits until every window written so far is confirmed (the boundary starts from an empty outbox). */
  private async drained(): Promise<void> {
    const started = performance.now();
    while (this.gateway.outbox.stats().depth > 0) {
      await delay(5);
      if (performance.now() - started > 30_000) throw new Error(`${this.name}: the outbox did not drain`);
    }
  }
}

async function startBenchGateway(name: string, dir: string, emulatorHost: string, featureBatches: boolean): Promise<BenchGateway> {
  const config = gatewayConfigSchema.parse({
    gatewayId: `bench-${name}`,
    siteId: 'bench',
    mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true },
    http: { host: '127.0.0.1', port: 0 },
    outbox: { path: join(dir, `${name}.sqlite`) },
    health: { intervalMs: 0 },
    validation: { maxMachines: MACHINES * 2 },
    pubsub: { projectId: 'bench', topic: `bench-${name}`, emulatorHost, createTopic: true, featureBatches: { enabled: featureBatches } },
    log: { level: 'silent' },
  });
  return new BenchGateway(name, await startGateway(config, { logger: pino({ level: 'silent' }) }));
}

function waitEndpoint(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the emulator did not start within 30 s')), 30_000);
    child.once('message', (message: { endpoint: string }) => {
      clearTimeout(timer);
      resolve(message.endpoint);
    });
    child.once('exit', (code) => reject(new Error(`the emulator exited with ${code}`)));
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const ms = (n: number) => n.toFixed(1);

// A benchmark must end by itself: fail loudly rather than hang a CI or a terminal.
let stage = 'start-up';
setTimeout(() => {
  console.error(`boundary benchmark: no result after 5 minutes (stuck at: ${stage})`);
  process.exit(1);
}, Number(process.env.BENCH_TIMEOUT_MS ?? 5 * 60_000)).unref();

const load = loadavg().map((l) => l.toFixed(2)).join(' / ');
const dir = mkdtempSync(join(tmpdir(), 'pdm-boundary-bench-'));
const emulatorProcess = fork(join(here, 'emulator-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const gateways: BenchGateway[] = [];
try {
  stage = 'starting the emulator';
  const endpoint = await waitEndpoint(emulatorProcess);
  stage = 'starting the gateways';
  const batches = await startBenchGateway('batches', dir, endpoint, true);
  const single = await startBenchGateway('single', dir, endpoint, false);
  gateways.push(batches, single);
  // Event time a few minutes back, so every boundary of the run is in the past of the wall clock.
  let windowStart = Math.floor(Date.now() / windowMs) * windowMs - 10 * 60_000;
  const results = new Map<BenchGateway, Boundary[]>(gateways.map((g) => [g, []]));
  console.log(`window boundary benchmark on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${load} at start`);
  console.log(`${MACHINES} machines × ${SENSORS} sensors, ${READINGS_PER_WINDOW + 1} readings per sensor per ${windowMs / 1000} s window, fed to the window engine in process`);
  stage = 'first window';
  for (const g of gateways) await g.fill(windowStart, allowedLatenessMs);
  // Boundary 0 warms up (JIT, SQLite statements, gRPC channel) and is not counted.
  for (let b = 0; b <= BOUNDARIES; b++) {
    const next = windowStart + windowMs;
    for (const g of gateways) {
      stage = `${g.name}, boundary ${b}`;
      const result = await g.boundary(next, allowedLatenessMs);
      if (b > 0) results.get(g)!.push(result);
      await g.fill(next, allowedLatenessMs);
    }
    windowStart = next;
  }

  console.log('');
  console.log(`Each boundary: every sensor's next reading, in one event-loop turn, closes all ${MACHINES} machines' windows.`);
  console.log('CPU is this process\'s (user + system) from that turn until Pub/Sub confirmed every window (outbox depth 0):');
  console.log(`close = the ${MACHINES * SENSORS} readings' engine.add, which close and assemble the windows; encode = encoding them and taking the machines' checkpoints;`);
  console.log('outbox = the one SQLite transaction; publish = building messages, Publish requests, confirmations, deletes.');
  console.log('The median row is each column\'s own median (its phases need not add up to its total).');
  console.log(`Event-loop delay: monitorEventLoopDelay (resolution ${LAG_RESOLUTION_MS} ms), reset at the boundary. ${BOUNDARIES} boundaries per mode`);
  console.log('after one warm-up, the two modes alternating; the emulator runs in its own process.');
  console.log('');
  console.log('| mode | boundary | windows | Publish requests | messages | CPU ms: close | encode | outbox | publish | total | wall ms | lag p50 ms | lag p99 ms | lag max ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [g, list] of results) {
    const mode = g.name === 'batches' ? 'FeatureBatch (default)' : 'one message per machine';
    const row = (label: string, r: Boundary) =>
      `| ${mode} | ${label} | ${Math.round(r.windows)} | ${Math.round(r.requests)} | ${Math.round(r.messages)} | ${ms(r.closeCpuMs)} | ${ms(r.encodeCpuMs)} | ${ms(r.outboxCpuMs)} | ${ms(r.publishCpuMs)} | **${ms(r.totalCpuMs)}** | ${ms(r.wallMs)} | ${ms(r.lagP50Ms)} | **${ms(r.lagP99Ms)}** | ${ms(r.lagMaxMs)} |`;
    list.forEach((r, i) => console.log(row(String(i + 1), r)));
    const med = Object.fromEntries(Object.keys(list[0]!).map((k) => [k, median(list.map((r) => r[k as keyof Boundary]))])) as unknown as Boundary;
    console.log(row('median', med));
  }
  const medianOf = (g: BenchGateway, key: keyof Boundary) => median(results.get(g)!.map((r) => r[key]));
  console.log('');
  console.log(`Target (#17): CPU for one 1,000-machine boundary ≤ 50 ms, event-loop lag p99 ≤ 20 ms. FeatureBatch median: ${ms(medianOf(batches, 'totalCpuMs'))} ms CPU, p99 lag ${ms(medianOf(batches, 'lagP99Ms'))} ms;`);
  console.log(`one message per machine: ${ms(medianOf(single, 'totalCpuMs'))} ms CPU (${(medianOf(single, 'totalCpuMs') / medianOf(batches, 'totalCpuMs')).toFixed(1)} × batches), p99 lag ${ms(medianOf(single, 'lagP99Ms'))} ms.`);
} catch (error) {
  console.error(`boundary benchmark failed at ${stage}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  stage = 'stopping';
  for (const g of gateways) await g.gateway.stop();
  emulatorProcess.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
