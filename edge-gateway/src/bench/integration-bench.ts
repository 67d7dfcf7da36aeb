// Plant-integration benchmark: what the bridge and Sparkplug B cost against the gateway's own paths, in
// one run on this machine (ratios, because the box is shared and noisy).
//   1. Bridge: single JSON readings at QoS 1 published to a local Debian mosquitto, which the gateway's
//      bridge subscribes to (QoS 1, mosquitto's default 20 messages in flight to it), against the
//      same load published at QoS 1 straight to the gateway's embedded broker.
//   2. Sparkplug B: DDATA messages with 100 Double metrics each (by alias, after one DBIRTH per
//      device), against the same readings as protobuf SensorBatch messages of 100 readings.
// One gateway process serves every run (embedded broker + bridge upstream); runs alternate between
// the two paths of a pair, and event time moves on from run to run as a live fleet's does.
// Usage: npm run bench:integration -w @pdm/edge-gateway   (after a build)
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { freePort } from '@pdm/influx-harness';
import { start as startEmulator } from '@pdm/pubsub-emulator';
import { MESSAGE_SPAN_MS } from './load-shape.js';
import { cpuSecondsOf } from './proc-stats.js';

const here = new URL('.', import.meta.url).pathname;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Bridge load per run: 125 machines × 8 sensors × 40 steps = 40,000 QoS 1 messages of one reading. */
const BRIDGE = { machines: 125, sensors: 8, steps: Number(process.env.BENCH_BRIDGE_STEPS ?? 40) };
/** Sparkplug load per run: 50 devices × 100 metrics × 100 steps = 5,000 messages, 500,000 readings. */
const SPARKPLUG = { machines: 50, sensors: 100, steps: Number(process.env.BENCH_SPARKPLUG_STEPS ?? 100) };
/** Event time of the first run, well inside the gateway's maxAgeMs. */
let eventTime = Math.floor((Date.now() - 10 * 60_000) / 10_000) * 10_000;

type Mode = 'json-qos1' | 'sparkplug' | 'sensorbatch';

/** Resolves once something listens on 127.0.0.1:port; fails if `child` exits or after 10 s. */
async function untilListening(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${child.spawnfile} did not listen on ${port} within 10 s`);
    await delay(20);
  }
}

/** The plant's broker: mosquitto as Debian ships it, except an unbounded queue per subscriber (the
 * generator may run ahead of the bridge; the default 1,000 would drop QoS 1 messages). */
async function startMosquitto(dir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 0', `user ${userInfo().username}`, 'log_dest none', ''].join('\n'),
  );
  const child = spawn('/usr/sbin/mosquitto', ['-c', config], { stdio: 'ignore' });
  await untilListening(port, child);
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

interface Gateway {
  mqttPort: number;
  readings(): Promise<number>;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

async function startGatewayProcess(dir: string, emulatorHost: string, upstreamPort: number): Promise<Gateway> {
  const mqttPort = await freePort();
  const httpPort = await freePort();
  const config = join(dir, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      // The load generators connect without credentials: let them publish readings and Sparkplug.
      mqtt: { host: '127.0.0.1', port: mqttPort, allowAnonymous: true, anonymous: { publish: ['sensors/#', 'spBv1.0/#'] } },
      http: { host: '127.0.0.1', port: httpPort },
      validation: { maxSensorsPerMachine: SPARKPLUG.sensors },
      outbox: { path: join(dir, 'outbox.sqlite') },
      pubsub: { projectId: 'bench', topic: 'bench-features', emulatorHost, createTopic: true },
      bridge: { upstreams: [{ name: 'plant', url: `mqtt://127.0.0.1:${upstreamPort}`, mappings: [{ topic: 'sensors/{machine}/{sensor}' }] }] },
      log: { level: 'warn' },
    }),
  );
  const child = fork(join(here, '..', 'bin.js'), ['--config', config], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  // A scrape on a loaded machine now and then loses its kept-alive connection: try again before failing.
  const metrics = async (attempt = 1): Promise<string> => {
    try {
      return await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    } catch (error) {
      if (attempt >= 3 || child.exitCode !== null) throw error;
      await delay(100);
      return metrics(attempt + 1);
    }
  };
  const bridgeConnected = async () => /^pdm_gateway_bridge_connected\{[^}]*\} 1$/m.test(await metrics());
  for (;;) {
    try {
      if (await bridgeConnected()) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error('the gateway exited during start-up');
    await delay(50);
  }
  return {
    mqttPort,
    readings: async () => Number(/^pdm_gateway_readings_total (\S+)$/m.exec(await metrics())?.[1] ?? 0),
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

interface Run {
  readings: number;
  seconds: number;
  cpuSeconds: number;
}

let stage = 'start-up';

/** Publishes one load to `port` and waits until the gateway counted all its readings. */
async function measure(gateway: Gateway, port: number, mode: Mode, shape: typeof BRIDGE, label: string): Promise<Run> {
  stage = label;
  const expected = shape.machines * shape.sensors * shape.steps;
  const before = await gateway.readings();
  const cpuBefore = gateway.cpuSeconds();
  const args = [String(port), mode, String(shape.machines), String(shape.sensors), String(shape.steps), String(eventTime)];
  eventTime += shape.steps * MESSAGE_SPAN_MS;
  const load = fork(join(here, 'integration-load.js'), args, { stdio: 'inherit' });
  const loadExited = new Promise<number | null>((resolve) => load.once('exit', resolve));
  const started = performance.now();
  let counted = 0;
  while (counted < expected) {
    await delay(100);
    counted = (await gateway.readings()) - before;
    if (load.exitCode !== null && load.exitCode !== 0) throw new Error(`${label}: the load generator failed (exit ${load.exitCode})`);
    if (performance.now() - started > 120_000) throw new Error(`${label}: only ${counted} of ${expected} readings counted after 120 s`);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = gateway.cpuSeconds() - cpuBefore;
  await loadExited;
  return { readings: expected, seconds, cpuSeconds };
}

interface Throughput {
  perSecond: number;
  perCpuSecond: number;
}

/** Alternates the two paths ROUNDS times; figures over all runs of a path (total readings / total time). */
async function compare(a: () => Promise<Run>, b: () => Promise<Run>): Promise<[Throughput, Throughput]> {
  const runs: [Run[], Run[]] = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    runs[0].push(await a());
    runs[1].push(await b());
  }
  const total = (list: Run[], key: keyof Run) => list.reduce((sum, run) => sum + run[key], 0);
  const summarize = (list: Run[]): Throughput => ({
    perSecond: total(list, 'readings') / total(list, 'seconds'),
    perCpuSecond: total(list, 'readings') / Math.max(total(list, 'cpuSeconds'), 0.01),
  });
  return [summarize(runs[0]), summarize(runs[1])];
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// A benchmark must end by itself: fail loudly rather than hang a CI or a terminal.
setTimeout(() => {
  console.error(`integration benchmark: no result after 10 minutes (stuck at: ${stage})`);
  process.exit(1);
}, Number(process.env.BENCH_TIMEOUT_MS ?? 10 * 60_000)).unref();

const dir = mkdtempSync(join(tmpdir(), 'pdm-integration-bench-'));
process.env.METADATA_SERVER_DETECTION ??= 'none';
const emulator = await startEmulator({ port: 0, adminPort: false, logger: pino({ level: 'silent' }) });
let mosquitto: Awaited<ReturnType<typeof startMosquitto>> | undefined;
let gateway: Gateway | undefined;
try {
  console.log(`plant-integration benchmark on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
  stage = 'starting mosquitto';
  mosquitto = await startMosquitto(dir);
  stage = 'starting the gateway';
  gateway = await startGatewayProcess(dir, emulator.endpoint, mosquitto.port);
  const gw = gateway;
  const upstreamPort = mosquitto.port;

  const [embedded, bridged] = await compare(
    () => measure(gw, gw.mqttPort, 'json-qos1', BRIDGE, 'QoS 1 JSON to the embedded broker'),
    () => measure(gw, upstreamPort, 'json-qos1', BRIDGE, 'QoS 1 JSON through mosquitto and the bridge'),
  );
  const [sensorBatch, sparkplug] = await compare(
    () => measure(gw, gw.mqttPort, 'sensorbatch', SPARKPLUG, 'protobuf SensorBatch, 100 readings a message'),
    () => measure(gw, gw.mqttPort, 'sparkplug', SPARKPLUG, 'Sparkplug B DDATA, 100 metrics a message'),
  );

  console.log('');
  console.log(`${ROUNDS} alternating runs per pair, figures over all of them; "per CPU-second" divides by the gateway process's CPU`);
  console.log('time (mosquitto and the load generator run in their own processes), which other work on a shared machine');
  console.log('disturbs far less than wall-clock time. Ratio: the second path over the first.');
  console.log('');
  console.log('| load | path | readings/s | readings per CPU-second | ratio (readings/s) | ratio (per CPU-second) |');
  console.log('|---|---|---|---|---|---|');
  const rows: Array<[string, string, Throughput, Throughput | undefined]> = [
    [`${fmt(BRIDGE.machines * BRIDGE.sensors * BRIDGE.steps)} single JSON readings at QoS 1 per run`, 'device → embedded broker', embedded, undefined],
    ['', 'device → mosquitto → bridge', bridged, embedded],
    [`${fmt(SPARKPLUG.machines * SPARKPLUG.sensors * SPARKPLUG.steps)} readings per run, 100 per message, QoS 0`, 'protobuf SensorBatch', sensorBatch, undefined],
    ['', 'Sparkplug B DDATA (100 metrics by alias)', sparkplug, sensorBatch],
  ];
  for (const [load, path, t, base] of rows) {
    const ratio = (key: keyof Throughput) => (base ? (t[key] / base[key]).toFixed(2) : '');
    console.log(`| ${load} | ${path} | ${fmt(t.perSecond)} | ${fmt(t.perCpuSecond)} | ${ratio('perSecond')} | ${ratio('perCpuSecond')} |`);
  }
} catch (error) {
  console.error(`integration benchmark failed at ${stage}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  stage = 'stopping';
  await gateway?.stop();
  await mosquitto?.stop();
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
}
