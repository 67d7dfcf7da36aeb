// Gateway benchmark: the same QoS0 load against a bare aedes broker and against the gateway, in one
// run on this machine, so the ratio means something on a shared, noisy box.
// Usage: npm run bench -w @pdm/edge-gateway   (after a build)
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { freePort } from '@pdm/influx-harness';
import { start as startEmulator } from '@pdm/pubsub-emulator';
import { windowEngineOptionsSchema } from '../window/options.js';
import { GATEWAY_NODE_FLAGS } from '../node-flags.js';
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
/**
 * Node flags for the gateway process alone, after those it is deployed with (GATEWAY_NODE_FLAGS), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes.
 */
const GATEWAY_NODE_ARGS = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
/**
 * Another build's gateway (the path of its dist/bin.js), run as a third target taking turns with the
 * other two: a change measured against what it changes in the same run, where a shared box's noise
 * falls on both.
 */
const COMPARE_GATEWAY = process.env.BENCH_COMPARE_GATEWAY;
/**
 * Event time of the first load; later loads continue from where the previous one ended (see load.ts).
 * 3 s before a window boundary 30 s ago: the three single-reading runs (4 s of event time each) carry
 * the watermark past that boundary + the 2 s lateness mid-way, so exactly one window per machine
 * closes during them, and the batch runs that follow (0.4 s each) close none.
 */
const { windowMs: WINDOW_MS } = windowEngineOptionsSchema.parse({ gatewayId: 'bench', siteId: 'bench' }); // the gateway's default
const START_EVENT_TIME = Math.floor((Date.now() - 30_000) / WINDOW_MS) * WINDOW_MS - 3_000;

/** What a target has done so far. */
interface Progress {
  /** Bare aedes counts messages, the gateway readings accepted into windows. */
  count: number;
  /** Machine-windows the gateway closed (bare aedes has none). */
  windowsClosed: number;
  /** Machine-windows Pub/Sub confirmed. */
  windowsPublished: number;
}

interface Target {
  name: string;
  /** Whether `count` counts readings (a gateway) rather than messages (bare aedes). */
  countsReadings: boolean;
  port: number;
  /** Event time the next load starts at: each run continues where the last one ended, like a live fleet. */
  eventTime: number;
  progress(): Promise<Progress>;
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
    countsReadings: false,
    port,
    eventTime: START_EVENT_TIME,
    async progress() {
      const reply = waitMessage<{ count: number }>(child, 'count');
      child.send({ count: true });
      return { count: (await reply).count, windowsClosed: 0, windowsPublished: 0 };
    },
    memory: () => memoryOf(child.pid!),
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    async stop() {
      child.send({ stop: true });
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** A gateway process of the build whose dist/bin.js is `bin`, with its own outbox in `dir`. */
async function startGatewayProcess(name: string, bin: string, dir: string, emulatorHost: string): Promise<Target> {
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
  const child = fork(bin, ['--config', config], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...GATEWAY_NODE_FLAGS, ...GATEWAY_NODE_ARGS] });
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
  const sum = (text: string, metric: string) =>
    [...text.matchAll(new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((total, m) => total + Number(m[1]), 0);
  return {
    name,
    countsReadings: true,
    port,
    eventTime: START_EVENT_TIME,
    async progress() {
      const text = await metrics();
      return {
        count: sum(text, 'pdm_gateway_readings_total'),
        windowsClosed: sum(text, 'pdm_gateway_windows_emitted_total'),
        windowsPublished: sum(text, 'pdm_gateway_published_total'),
      };
    },
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
  /** Machine-windows the gateway closed during the runs; a run ends once Pub/Sub confirmed those. */
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
  const expected = messages * (target.countsReadings ? readingsPerMessage : 1);
  const before = await target.progress();
  const cpuBefore = target.cpuSeconds();
  const startTs = target.eventTime;
  target.eventTime += Math.ceil(messages / (MACHINES * SENSORS)) * MESSAGE_SPAN_MS;
  const load = fork(join(here, 'load.js'), [String(target.port), mode, String(messages), String(MACHINES), String(SENSORS), String(startTs)], { stdio: 'inherit' });
  const loadExited = new Promise((resolve) => load.once('exit', resolve));
  // Timed from the first message: the generator's start-up is no broker's work (load.ts).
  await waitMessage<{ publishing: boolean }>(load, 'publishing');
  const started = performance.now();
  // Ask for the count only once the generator has sent everything, then often: the gateway's count
  // comes from a /metrics scrape, which costs it work a deployed gateway does every 15 s or so, not
  // ten times a second; both targets are timed alike. The target may still be reading what the
  // sockets hold when the generator exits. The run ends when every reading is counted and every
  // window closed so far is published: the figure is for windows closing and published during the run.
  await loadExited;
  const done = (now: Progress) => now.count - before.count >= expected && now.windowsPublished >= now.windowsClosed;
  let now = await target.progress();
  while (!done(now)) {
    if (performance.now() - started > 60_000) {
      throw new Error(`${target.name} ${mode}: after 60 s ${now.count - before.count} of ${expected} counted, ${now.windowsPublished} of ${now.windowsClosed} windows published`);
    }
    await delay(10);
    now = await target.progress();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = target.cpuSeconds() - cpuBefore;
  return { readings: messages * readingsPerMessage, seconds, cpuSeconds, windows: now.windowsClosed - before.windowsClosed };
}

/**
 * Runs the targets in turn, round after round, so all see the same phases of a noisy machine.
 * Throughput is over all runs together (total readings / total time), so the window closes that fall
 * in some runs and not others are paid for at the rate a live fleet pays for them.
 */
async function compare(targets: Target[], mode: Mode, messages: number, afterFirstRun = () => {}): Promise<Throughput[]> {
  const runs = targets.map((): Run[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, target] of targets.entries()) runs[i]!.push(await measure(target, mode, messages));
    if (round === 0) afterFirstRun();
  }
  const total = (list: Run[], key: keyof Run) => list.reduce((sum, run) => sum + run[key], 0);
  return runs.map((list) => ({
    perSecond: total(list, 'readings') / total(list, 'seconds'),
    perCpuSecond: total(list, 'readings') / Math.max(total(list, 'cpuSeconds'), 0.01),
    windows: total(list, 'windows'),
  }));
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
  console.log(`gateway: node ${[...GATEWAY_NODE_FLAGS, ...GATEWAY_NODE_ARGS].join(' ')} (as its systemd unit and container run it); bare aedes with node's defaults`);

  let steadyRss = 0;
  stage = 'starting bare aedes';
  const bare = await startBare();
  stage = 'starting the gateway';
  const gatewayDir = (name: string) => {
    const path = join(dir, name);
    mkdirSync(path);
    return path;
  };
  const gateway = await startGatewayProcess('gateway', join(here, '..', 'bin.js'), gatewayDir('gateway'), emulator.endpoint);
  const other = COMPARE_GATEWAY === undefined ? undefined : await startGatewayProcess('compared gateway', COMPARE_GATEWAY, gatewayDir('compared'), emulator.endpoint);
  const targets = [bare, gateway, ...(other ? [other] : [])];
  // Memory after the first load has made 10k sensors active, like a gateway's steady state; the peak
  // after all runs shows how far V8 lets garbage from back-to-back bursts pile up before collecting it.
  const loads: Array<[Mode, string, number, string]> = [
    ['single', 'single readings', SINGLE_MESSAGES, '≥ 100,000'],
    ['batch', '100-sample JSON batches', BATCH_MESSAGES, '≥ 2,000,000'],
    ['batch-pb', '100-sample protobuf SensorBatch', BATCH_MESSAGES, '≥ 2,000,000'],
  ];
  const rows: Array<{ name: string; target: string; bare: Throughput; gateway: Throughput; other: Throughput | undefined }> = [];
  for (const [mode, name, messages, target] of loads) {
    if (!LOADS.has(mode)) continue;
    const steady = rows.length === 0 ? () => (steadyRss = gateway.memory().rssBytes) : undefined;
    const [bareRuns, gatewayRuns, otherRuns] = await compare(targets, mode, messages, steady);
    rows.push({ name, target, bare: bareRuns!, gateway: gatewayRuns!, other: otherRuns });
  }
  const peakRss = gateway.memory().peakBytes;
  for (const target of targets) await target.stop();

  console.log('');
  console.log(`${ROUNDS} runs per load and target, taking turns, figures over all of them, each run timed from the load's`);
  console.log('first message until the target counted its last and Pub/Sub confirmed every window it closed. "per');
  console.log('CPU-second" divides by the CPU time the broker process used, which other work on a shared machine');
  console.log('disturbs far less than wall-clock time.');
  console.log(`Event time advances ${MESSAGE_SPAN_MS} ms per message per sensor (${1000 / MESSAGE_SPAN_MS} Hz readings; ${BLOCK_HZ} Hz blocks of ${BLOCK_SAMPLES}), so each`);
  console.log(`machine's window closes every ${WINDOW_MS / 1000} s of event time, as in a live fleet, and is published as the gateway's`);
  console.log('default configuration does: in FeatureBatch messages (one per shard and tick, ordering key gateway:shard).');
  if (other) console.log(`compared gateway: ${COMPARE_GATEWAY}`);
  console.log('');
  const extra = (cells: string) => (other ? ` ${cells} |` : '');
  console.log(`| load | bare aedes | gateway | ratio |${extra('compared gateway | ratio')} target | windows closed |`);
  console.log(`|---|---|---|---|${other ? '---|---|' : ''}---|---|`);
  for (const { name, target, bare: b, gateway: g, other: o } of rows) {
    // A gateway's figure and its ratio to bare aedes'.
    const cells = (t: Throughput | undefined, key: 'perSecond' | 'perCpuSecond') => (t ? `${fmt(t[key])} | ${(t[key] / b[key]).toFixed(2)}` : '');
    const windows = `${fmt(g.windows)}${o ? ` / ${fmt(o.windows)}` : ''}`;
    console.log(`| ${name}, readings/s | ${fmt(b.perSecond)} | ${cells(g, 'perSecond')} |${extra(cells(o, 'perSecond'))} ${target}${name === 'single readings' ? ', ratio ≥ 0.80' : ''} | ${windows} |`);
    console.log(`| ${name}, readings per CPU-second | ${fmt(b.perCpuSecond)} | ${cells(g, 'perCpuSecond')} |${extra(cells(o, 'perCpuSecond'))} | |`);
  }
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  console.log(`| gateway RSS with ${fmt(MACHINES * SENSORS)} active sensors, after the first run | | ${mb(steadyRss)} | |${extra(' |')} ≤ 150 MB | |`);
  console.log(`| gateway peak RSS over all runs | | ${mb(peakRss)} | |${extra(' |')} | |`);
} catch (error) {
  console.error(`gateway benchmark failed at ${stage}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  stage = 'stopping the emulator';
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
}
