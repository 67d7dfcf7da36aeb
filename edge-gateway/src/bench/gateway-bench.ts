// Gateway benchmark: the same QoS0 load against a bare aedes broker and against the gateway, in one
// run on this machine, so the ratio means something on a shared, noisy box.
// Usage: npm run bench -w @pdm/edge-gateway   (after a build)
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { freePort } from '@pdm/influx-harness';
import { start as startEmulator } from '@pdm/pubsub-emulator';
import { windowEngineOptionsSchema } from '../window/options.js';
import { BLOCK_HZ, BLOCK_SAMPLES, MESSAGE_SPAN_MS } from './load-shape.js';
import { cpuSecondsOf } from './proc-stats.js';

const here = new URL('.', import.meta.url).pathname;
const SINGLE_MESSAGES = Number(process.env.BENCH_SINGLE_MESSAGES ?? 400_000);
const BATCH_MESSAGES = Number(process.env.BENCH_BATCH_MESSAGES ?? 40_000);
const MACHINES = 1250; // × 8 sensors = 10k active sensors, the RSS figure's load
const SENSORS = 8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MODES = ['single', 'batch', 'batch-pb'] as const;
type Mode = (typeof MODES)[number];
/** The loads to run, all by default: `BENCH_LOADS=single` measures (or profiles) the single readings alone. */
const LOADS = new Set((process.env.BENCH_LOADS ?? MODES.join(',')).split(','));
// Refused rather than skipped: a misspelt load would otherwise be left out without a word.
const unknownLoads = [...LOADS].filter((name) => !MODES.some((mode) => mode === name));
if (unknownLoads.length > 0) throw new Error(`BENCH_LOADS: unknown load(s) ${unknownLoads.map((name) => JSON.stringify(name)).join(', ')}; the loads are ${MODES.join(', ')}`);
/** Node flags for the gateway process alone, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes. */
const GATEWAY_NODE_ARGS = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
/**
 * Event time of the first load; later loads continue from where the previous one ended (see load.ts).
 * 3 s before a window boundary 30 s ago: the three single-reading runs (4 s of event time each) carry
 * the watermark past that boundary + the 2 s lateness mid-way, so exactly one window per machine
 * closes during them, and the batch runs that follow (0.4 s each) close none.
 */
const { windowMs: WINDOW_MS } = windowEngineOptionsSchema.parse({ gatewayId: 'bench', siteId: 'bench' }); // the gateway's default
const START_EVENT_TIME = Math.floor((Date.now() - 30_000) / WINDOW_MS) * WINDOW_MS - 3_000;

interface Target {
  name: string;
  port: number;
  /** Event time the next load starts at: each run continues where the last one ended, like a live fleet. */
  eventTime: number;
  count(): Promise<number>;
  /** Machine-windows closed so far (the gateway's; bare aedes has none). */
  windows(): Promise<number>;
  /** Resident memory now, and its peak so far (VmHWM). */
  memory(): { rssBytes: number; peakBytes: number };
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Waits for a message carrying `key` from a child; fails after 30 s instead of hanging the run. */
function waitMessage<T>(child: ChildProcess, key: keyof T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${String(key)}" message from ${child.spawnfile} ${child.spawnargs.slice(1).join(' ')} within 30 s`)), 30_000);
    const onExit = (code: number | null) => reject(new Error(`child exited with ${code}`));
    const onMessage = (message: T) => {
      if (message && typeof message === 'object' && key in message) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        clearTimeout(timer);
        resolve(message);
      }
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function memoryOf(pid: number): { rssBytes: number; peakBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kilobytes('VmRSS'), peakBytes: kilobytes('VmHWM') };
}

async function startBare(): Promise<Target> {
  const port = await freePort();
  const child = fork(join(here, 'bare-broker.js'), [String(port)], { stdio: 'inherit' });
  await waitMessage<{ ready: boolean }>(child, 'ready');
  return {
    name: 'bare aedes',
    port,
    eventTime: START_EVENT_TIME,
    windows: () => Promise.resolve(0),
    async count() {
      const reply = waitMessage<{ count: number }>(child, 'count');
      child.send({ count: true });
      return (await reply).count;
    },
    memory: () => memoryOf(child.pid!),
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    async stop() {
      child.send({ stop: true });
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function startGatewayProcess(dir: string, emulatorHost: string): Promise<Target> {
  const port = await freePort();
  const httpPort = await freePort();
  const config = join(dir, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      mqtt: { host: '127.0.0.1', port, allowAnonymous: true },
      http: { host: '127.0.0.1', port: httpPort },
      outbox: { path: join(dir, 'outbox.sqlite') },
      pubsub: { projectId: 'bench', topic: 'bench-features', emulatorHost, createTopic: true },
      log: { level: 'warn' },
    }),
  );
  const child = fork(join(here, '..', 'bin.js'), ['--config', config], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...GATEWAY_NODE_ARGS] });
  const metrics = async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  for (;;) {
    try {
      await metrics();
      break;
    } catch {
      if (child.exitCode !== null) throw new Error('the gateway exited during start-up');
      await delay(50);
    }
  }
  return {
    name: 'gateway',
    port,
    eventTime: START_EVENT_TIME,
    count: async () => Number(/^pdm_gateway_readings_total (\S+)$/m.exec(await metrics())?.[1] ?? 0),
    windows: async () => [...(await metrics()).matchAll(/^pdm_gateway_windows_emitted_total\{[^}]*\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0),
    memory: () => memoryOf(child.pid!),
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

interface Throughput {
  /** Readings per wall-clock second, as counted by the target. */
  perSecond: number;
  /** Readings per second of CPU the target used: what one dedicated core would sustain. */
  perCpuSecond: number;
  /** Machine-windows the gateway closed (and published) during the runs. */
  windows: number;
}

interface Run {
  readings: number;
  seconds: number;
  cpuSeconds: number;
  windows: number;
}

/** Runs one load and returns what the target did with it. */
async function measure(target: Target, mode: Mode, messages: number): Promise<Run> {
  stage = `${target.name}, ${mode}`;
  const readingsPerMessage = mode === 'single' ? 1 : 100;
  // Bare aedes counts messages; the gateway counts readings.
  const unit = target.name === 'gateway' ? readingsPerMessage : 1;
  const expected = messages * unit;
  const before = await target.count();
  const windowsBefore = await target.windows();
  const cpuBefore = target.cpuSeconds();
  const startTs = target.eventTime;
  target.eventTime += Math.ceil(messages / (MACHINES * SENSORS)) * MESSAGE_SPAN_MS;
  const load = fork(join(here, 'load.js'), [String(target.port), mode, String(messages), String(MACHINES), String(SENSORS), String(startTs)], { stdio: 'inherit' });
  const loadExited = new Promise((resolve) => load.once('exit', resolve));
  const started = performance.now();
  // Ask for the count only once the generator has sent everything, then often: the gateway's count
  // comes from a /metrics scrape, which costs it work a deployed gateway does every 15 s or so, not
  // ten times a second; both targets are timed alike. The target may still be reading what the
  // sockets hold when the generator exits.
  await loadExited;
  let counted = (await target.count()) - before;
  while (counted < expected) {
    if (performance.now() - started > 60_000) throw new Error(`${target.name} ${mode}: only ${counted} of ${expected} readings counted after 60 s`);
    await delay(10);
    counted = (await target.count()) - before;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = target.cpuSeconds() - cpuBefore;
  return { readings: messages * readingsPerMessage, seconds, cpuSeconds, windows: (await target.windows()) - windowsBefore };
}

/**
 * Alternates bare and gateway runs so both see the same phases of a noisy machine. Throughput is over
 * all runs together (total readings / total time), so the window closes that fall in some runs and
 * not others are paid for at the rate a live fleet pays for them.
 */
async function compare(bare: Target, gateway: Target, mode: Mode, messages: number, afterFirstRun = () => {}): Promise<{ bare: Throughput; gateway: Throughput }> {
  const runs: { bare: Run[]; gateway: Run[] } = { bare: [], gateway: [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.bare.push(await measure(bare, mode, messages));
    runs.gateway.push(await measure(gateway, mode, messages));
    if (round === 0) afterFirstRun();
  }
  const total = (list: Run[], key: keyof Run) => list.reduce((sum, run) => sum + run[key], 0);
  const summarize = (list: Run[]): Throughput => ({
    perSecond: total(list, 'readings') / total(list, 'seconds'),
    perCpuSecond: total(list, 'readings') / Math.max(total(list, 'cpuSeconds'), 0.01),
    windows: total(list, 'windows'),
  });
  return { bare: summarize(runs.bare), gateway: summarize(runs.gateway) };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// A benchmark must end by itself: fail loudly rather than hang a CI or a terminal.
let stage = 'start-up';
setTimeout(() => {
  console.error(`gateway benchmark: no result after 8 minutes (stuck at: ${stage})`);
  process.exit(1);
}, Number(process.env.BENCH_TIMEOUT_MS ?? 8 * 60_000)).unref();

const dir = mkdtempSync(join(tmpdir(), 'pdm-gateway-bench-'));
process.env.METADATA_SERVER_DETECTION ??= 'none';
const emulator = await startEmulator({ port: 0, adminPort: false, logger: pino({ level: 'silent' }) });
try {
  console.log(`gateway benchmark on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
  console.log(`load: QoS0 JSON from a separate process, ${MACHINES} machines × ${SENSORS} sensors`);

  let steadyRss = 0;
  stage = 'starting bare aedes';
  const bare = await startBare();
  stage = 'starting the gateway';
  const gateway = await startGatewayProcess(dir, emulator.endpoint);
  // Memory after the first load has made 10k sensors active, like a gateway's steady state; the peak
  // after all runs shows how far V8 lets garbage from back-to-back bursts pile up before collecting it.
  const loads: Array<[Mode, string, number, string]> = [
    ['single', 'single readings', SINGLE_MESSAGES, '≥ 100,000'],
    ['batch', '100-sample JSON batches', BATCH_MESSAGES, '≥ 2,000,000'],
    ['batch-pb', '100-sample protobuf SensorBatch', BATCH_MESSAGES, '≥ 2,000,000'],
  ];
  const rows: Array<[string, { bare: Throughput; gateway: Throughput }, string]> = [];
  for (const [mode, name, messages, target] of loads) {
    if (!LOADS.has(mode)) continue;
    const steady = rows.length === 0 ? () => (steadyRss = gateway.memory().rssBytes) : undefined;
    rows.push([name, await compare(bare, gateway, mode, messages, steady), target]);
  }
  const peakRss = gateway.memory().peakBytes;
  await bare.stop();
  await gateway.stop();

  console.log('');
  console.log(`${ROUNDS} alternating runs per load, figures over all of them. "per CPU-second" divides by the CPU time the`);
  console.log('broker process used, which other work on a shared machine disturbs far less than wall-clock time.');
  console.log(`Event time advances ${MESSAGE_SPAN_MS} ms per message per sensor (${1000 / MESSAGE_SPAN_MS} Hz readings; ${BLOCK_HZ} Hz blocks of ${BLOCK_SAMPLES}), so each`);
  console.log(`machine's window closes every ${WINDOW_MS / 1000} s of event time, as in a live fleet, and is published as the gateway's`);
  console.log('default configuration does: in FeatureBatch messages (one per shard and tick, ordering key gateway:shard).');
  console.log('');
  console.log('| load | bare aedes | gateway | ratio | target | windows closed |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, { bare: b, gateway: g }, target] of rows) {
    console.log(`| ${name}, readings/s | ${fmt(b.perSecond)} | ${fmt(g.perSecond)} | ${(g.perSecond / b.perSecond).toFixed(2)} | ${target}${name === 'single readings' ? ', ratio ≥ 0.80' : ''} | ${fmt(g.windows)} |`);
    console.log(`| ${name}, readings per CPU-second | ${fmt(b.perCpuSecond)} | ${fmt(g.perCpuSecond)} | ${(g.perCpuSecond / b.perCpuSecond).toFixed(2)} | | |`);
  }
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  console.log(`| gateway RSS with ${fmt(MACHINES * SENSORS)} active sensors, after the first run | | ${mb(steadyRss)} | | ≤ 150 MB | |`);
  console.log(`| gateway peak RSS over all runs | | ${mb(peakRss)} | | | |`);
} catch (error) {
  console.error(`gateway benchmark failed at ${stage}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  stage = 'stopping the emulator';
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
}
