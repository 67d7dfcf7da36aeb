// Window boundary benchmark (#17): what the gateway does when the windows of 1,000 machines × 8 sensors
// all close at once — close and assemble, encode (and checkpoint), the outbox transactions, Publish —
// and how long ingest waits for it (event-loop delay). Three gateways run in this process: FeatureBatch
// messages (the default) with the boundary's readings fed as socket reads deliver them (a chunk of
// machines per event-loop turn), the same with all of them in one turn (the worst case: a backlog that
// arrives in one poll phase), and a message per machine (featureBatches.enabled false, the baseline);
// their boundaries alternate so all see the same phases of a shared machine.
// The Pub/Sub emulator runs in a child process so its work is not counted as the gateway's.
// Usage: npm run bench:boundary -w @pdm/edge-gateway   (after a build)
// BENCH_BOUNDARIES (5) boundaries per mode are measured after BENCH_WARM_UPS (3) not counted.
// BENCH_CPU_PROFILE=<dir> also writes a V8 CPU profile of each measured boundary there
// (<mode>-<boundary>.cpuprofile, the warm-ups first; for Chrome DevTools or any .cpuprofile reader); profiling
// adds its own cost.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
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
/**
 * Boundaries each mode runs first, not counted: a gateway meets a boundary every window for as long
 * as it runs, and the first few of a fresh process still compile the code they run (V8's optimizing
 * compiler, on its own threads: 44, 21, 18, then 1-3 ms of it at the FeatureBatch boundaries 1-5
 * after a single warm-up, measured with --trace-opt).
 */
const WARM_UPS = Number(process.env.BENCH_WARM_UPS ?? 3);
/**
 * Machines whose boundary readings cross in one event-loop turn when fed as a socket read delivers
 * them: 50 machines × 8 sensors = 400 single JSON readings of ~120 bytes (topic and MQTT header
 * included) ≈ 48 KB, under the 64 KiB one read of a socket returns.
 */
const MACHINES_PER_READ = 50;
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
  /**
   * Of totalCpuMs, what threads other than the main one spent (V8's garbage collection and
   * compilation helpers, libuv's pool): NaN where /proc cannot tell.
   */
  offMainCpuMs: number;
  /** Wall-clock milliseconds from the boundary until Pub/Sub confirmed every window (outbox depth 0). */
  wallMs: number;
  windows: number;
  /** Outbox transactions holding windows. */
  appends: number;
  requests: number;
  messages: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

const profileDir = process.env.BENCH_CPU_PROFILE;
const profiler = profileDir === undefined ? undefined : new Session();
if (profiler && profileDir) {
  mkdirSync(profileDir, { recursive: true });
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
}

/** CPU milliseconds between two process.cpuUsage() readings. */
const cpuMs = (to: NodeJS.CpuUsage, from: NodeJS.CpuUsage) => (to.user + to.system - from.user - from.system) / 1000;

/**
 * CPU milliseconds this process's threads other than the main one have run (Linux: each thread's
 * schedstat, in ns), NaN elsewhere. The JavaScript, SQLite and gRPC work is the main thread's; the
 * rest is V8's helpers (concurrent marking and sweeping, optimizing compilation) and libuv's pool.
 */
function offMainThreadCpuMs(): number {
  try {
    let ns = 0;
    let read = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      if (Number(tid) === process.pid) continue;
      try {
        ns += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        read++;
      } catch {
        // The thread ended meanwhile.
      }
    }
    // No thread's schedstat readable (a kernel without it): unknown, not 0.
    return read > 0 ? ns / 1e6 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

class BenchGateway {
  private readonly lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  /** Whether a boundary is being measured: only then are the phases below summed. */
  private measuring = false;
  /** CPU ms summed over the boundary's outbox transactions holding windows, and over encoding and checkpoints before each. */
  private outboxMs = 0;
  private encodeMs = 0;
  private appends = 0;
  /** Windows appended to the outbox, and rows Pub/Sub confirmed (removed), during the boundary. */
  private appendedWindows = 0;
  private removedWindows = 0;
  /** CPU usage when the writer took the first checkpoint of its current slice (it encodes the windows next, then appends). */
  private sliceStarted: NodeJS.CpuUsage | undefined;
  /** CPU profiles written (BENCH_CPU_PROFILE). */
  private profiles = 0;
  /** Resolves the boundary being measured once every window of it was appended and confirmed. */
  private confirmedAll: (() => void) | undefined;

  constructor(
    readonly name: string,
    readonly gateway: RunningGateway,
    /** Machines whose boundary readings cross in one turn. */
    readonly machinesPerTurn: number,
  ) {
    // The writer takes each machine's checkpoint (engine.checkpoint), encodes the windows, then
    // calls the outbox's append: a slice's encode phase runs from its first checkpoint to its append.
    const engine = gateway.engine;
    const checkpoint = engine.checkpoint.bind(engine);
    engine.checkpoint = (...args) => {
      if (this.measuring) this.sliceStarted ??= process.cpuUsage();
      return checkpoint(...args);
    };
    const outbox = gateway.outbox;
    const append = outbox.append.bind(outbox);
    outbox.append = (...args) => {
      // A periodic checkpoint without windows may also write during a boundary: counted in publish.
      if (!this.measuring || args[0].length === 0) {
        this.sliceStarted = undefined;
        return append(...args);
      }
      const started = process.cpuUsage();
      if (this.sliceStarted) this.encodeMs += cpuMs(started, this.sliceStarted);
      this.sliceStarted = undefined;
      try {
        return append(...args);
      } finally {
        this.outboxMs += cpuMs(process.cpuUsage(), started);
        this.appends++;
        this.appendedWindows += args[0].length;
      }
    };
    // Counted, not polled: polling the outbox's depth (a query) every millisecond cost CPU of its own.
    const remove = outbox.remove.bind(outbox);
    outbox.remove = (...args) => {
      remove(...args);
      if (!this.measuring) return;
      this.removedWindows++;
      if (this.appendedWindows >= MACHINES && this.removedWindows >= this.appendedWindows) this.confirmedAll?.();
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
    // Its periodic checkpoint writes what the fill changed: not during another gateway's boundary,
    // whose CPU and event-loop delay this process's would otherwise include.
    const started = performance.now();
    while (this.gateway.engine.changedMachines().length > 0) {
      await delay(20);
      if (performance.now() - started > 30_000) throw new Error(`${this.name}: the periodic checkpoint did not take the filled window`);
    }
  }

  /**
   * Every sensor's next reading, `machinesPerTurn` machines a turn, carries its watermark to the end
   * of the window: every machine's window closes. Measures until Pub/Sub confirmed them all.
   */
  async boundary(nextWindowStart: number, latenessMs: number): Promise<Boundary> {
    await this.drained();
    const windowsBefore = this.gateway.metrics.windows;
    const windowCount = async () => (await windowsBefore.get()).values.reduce((sum, v) => sum + v.value, 0);
    const windowsAtStart = await windowCount();
    const requestsBefore = publishRequests;
    const messagesBefore = publishedMessages;
    this.outboxMs = this.encodeMs = this.appends = this.appendedWindows = this.removedWindows = 0;
    this.sliceStarted = undefined;
    this.measuring = true;
    this.lag.enable();
    this.lag.reset();
    // Waited for, not polled: polling every millisecond cost CPU counted as the gateway's.
    let timeout: NodeJS.Timeout | undefined;
    const confirmed = new Promise<void>((resolve, reject) => {
      this.confirmedAll = resolve;
      timeout = setTimeout(() => reject(new Error(`${this.name}: windows still in the outbox 30 s after the boundary`)), 30_000);
    });
    // Awaited only after the feeding loop: until then a timeout must not be an unhandled rejection.
    confirmed.catch(() => undefined);
    await profiler?.post('Profiler.start');
    const started = performance.now();
    const offMain0 = offMainThreadCpuMs();
    const cpu0 = process.cpuUsage();
    const ts = nextWindowStart + latenessMs;
    let closeMs = 0;
    for (let first = 0; first < MACHINES; first += this.machinesPerTurn) {
      if (first > 0) await yieldTurn();
      const turn = process.cpuUsage();
      for (let m = first; m < Math.min(MACHINES, first + this.machinesPerTurn); m++) {
        for (let s = 0; s < SENSORS; s++) this.gateway.engine.add(machineIds[m]!, sensorIds[s]!, ts, 20);
      }
      closeMs += cpuMs(process.cpuUsage(), turn);
    }
    try {
      await confirmed;
    } finally {
      clearTimeout(timeout);
      this.confirmedAll = undefined;
    }
    // The confirmed rows' delete transaction, which would run in the next turn.
    if (this.gateway.outbox.stats().depth > 0) throw new Error(`${this.name}: rows left in the outbox after every window was confirmed`);
    const cpuEnd = process.cpuUsage();
    const offMainMs = offMainThreadCpuMs() - offMain0;
    const wallMs = performance.now() - started;
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(join(profileDir!, `${this.name}-${this.profiles++}.cpuprofile`), JSON.stringify(profile));
    }
    this.measuring = false;
    this.lag.disable();
    const totalCpuMs = cpuMs(cpuEnd, cpu0);
    return {
      closeCpuMs: closeMs,
      encodeCpuMs: this.encodeMs,
      outboxCpuMs: this.outboxMs,
      publishCpuMs: totalCpuMs - closeMs - this.encodeMs - this.outboxMs,
      totalCpuMs,
      offMainCpuMs: offMainMs,
      wallMs,
      windows: (await windowCount()) - windowsAtStart,
      requests: publishRequests - requestsBefore,
      messages: publishedMessages - messagesBefore,
      appends: this.appends,
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

async function startBenchGateway(name: string, dir: string, emulatorHost: string, featureBatches: boolean, machinesPerTurn: number): Promise<BenchGateway> {
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
  return new BenchGateway(name, await startGateway(config, { logger: pino({ level: 'silent' }) }), machinesPerTurn);
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
  const batches = await startBenchGateway('batches', dir, endpoint, true, MACHINES_PER_READ);
  const oneTurn = await startBenchGateway('one-turn', dir, endpoint, true, MACHINES);
  const single = await startBenchGateway('single', dir, endpoint, false, MACHINES_PER_READ);
  gateways.push(batches, oneTurn, single);
  const modes = new Map([
    [batches, `FeatureBatch (default), ${MACHINES_PER_READ} machines a turn`],
    [oneTurn, `FeatureBatch, all ${MACHINES} in one turn`],
    [single, `one message per machine, ${MACHINES_PER_READ} machines a turn`],
  ]);
  // Event time a few minutes back, so every boundary of the run is in the past of the wall clock.
  let windowStart = Math.floor(Date.now() / windowMs) * windowMs - 10 * 60_000;
  const results = new Map<BenchGateway, Boundary[]>(gateways.map((g) => [g, []]));
  console.log(`window boundary benchmark on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${load} at start`);
  console.log(`${MACHINES} machines × ${SENSORS} sensors, ${READINGS_PER_WINDOW + 1} readings per sensor per ${windowMs / 1000} s window, fed to the window engine in process`);
  stage = 'first window';
  for (const g of gateways) await g.fill(windowStart, allowedLatenessMs);
  // The first WARM_UPS boundaries warm up (JIT, SQLite statements, gRPC channel) and are not counted.
  for (let b = 1 - WARM_UPS; b <= BOUNDARIES; b++) {
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
  console.log(`Each boundary: every sensor's next reading closes all ${MACHINES} machines' windows. Fed as socket reads deliver them:`);
  console.log(`the readings of ${MACHINES_PER_READ} machines (${MACHINES_PER_READ * SENSORS} readings, ~${Math.round((MACHINES_PER_READ * SENSORS * 120) / 1000)} KB of single JSON readings: under one 64 KiB read) per event-loop turn;`);
  console.log(`"all in one turn": all ${MACHINES * SENSORS} in one turn, as a backlog read in one poll phase would deliver them (the close is then one turn no gateway can split).`);
  console.log('CPU is this process\'s (user + system) from the first reading until Pub/Sub confirmed every window (outbox depth 0):');
  console.log(`close = the ${MACHINES * SENSORS} readings' engine.add, which close and assemble the windows; encode = taking the machines' checkpoints and encoding`);
  console.log('the windows; outbox = the SQLite transactions holding them (the writer writes a slice of machines per turn); publish = the rest:');
  console.log('building messages, Publish requests, confirmations, deletes, and whatever else the process ran meanwhile (the garbage collector, the compiler).');
  console.log('"Off the main thread": of the total, V8\'s helper threads (concurrent GC, optimizing compiler) and libuv\'s pool, from /proc/self/task/*/schedstat.');
  console.log('The median row is each column\'s own median (its phases need not add up).');
  console.log(`Event-loop delay: monitorEventLoopDelay (resolution ${LAG_RESOLUTION_MS} ms), reset at the boundary. ${BOUNDARIES} boundaries per mode`);
  console.log(`after ${WARM_UPS} warm-ups, the modes alternating; the emulator runs in its own process.`);
  console.log('');
  console.log('| mode | boundary | windows | outbox transactions | Publish requests | messages | CPU ms: close | encode | outbox | publish | total | of it off the main thread | wall ms | lag p50 ms | lag p99 ms | lag max ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [g, list] of results) {
    const row = (label: string, r: Boundary) =>
      `| ${modes.get(g)} | ${label} | ${Math.round(r.windows)} | ${Math.round(r.appends)} | ${Math.round(r.requests)} | ${Math.round(r.messages)} | ${ms(r.closeCpuMs)} | ${ms(r.encodeCpuMs)} | ${ms(r.outboxCpuMs)} | ${ms(r.publishCpuMs)} | **${ms(r.totalCpuMs)}** | ${ms(r.offMainCpuMs)} | ${ms(r.wallMs)} | ${ms(r.lagP50Ms)} | **${ms(r.lagP99Ms)}** | ${ms(r.lagMaxMs)} |`;
    list.forEach((r, i) => console.log(row(String(i + 1), r)));
    const med = Object.fromEntries(Object.keys(list[0]!).map((k) => [k, median(list.map((r) => r[k as keyof Boundary]))])) as unknown as Boundary;
    console.log(row('median', med));
  }
  const medianOf = (g: BenchGateway, key: keyof Boundary) => median(results.get(g)!.map((r) => r[key]));
  const afterClose = (g: BenchGateway) => median(results.get(g)!.map((r) => r.encodeCpuMs + r.outboxCpuMs + r.publishCpuMs));
  console.log('');
  console.log(`Target (#17): CPU for one 1,000-machine boundary (encode + outbox + publish) ≤ 50 ms, event-loop lag p99 ≤ 20 ms.`);
  for (const g of [batches, oneTurn]) {
    console.log(`${modes.get(g)}: encode + outbox + publish ${ms(afterClose(g))} ms, close ${ms(medianOf(g, 'closeCpuMs'))} ms, total ${ms(medianOf(g, 'totalCpuMs'))} ms CPU; p99 lag ${ms(medianOf(g, 'lagP99Ms'))} ms.`);
  }
  console.log(`${modes.get(single)}: ${ms(medianOf(single, 'totalCpuMs'))} ms CPU (${(medianOf(single, 'totalCpuMs') / medianOf(batches, 'totalCpuMs')).toFixed(1)} × batches), p99 lag ${ms(medianOf(single, 'lagP99Ms'))} ms.`);
} catch (error) {
  console.error(`boundary benchmark failed at ${stage}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  stage = 'stopping';
  for (const g of gateways) await g.gateway.stop();
  emulatorProcess.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
