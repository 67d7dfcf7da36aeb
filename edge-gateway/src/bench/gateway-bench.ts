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

const here = new URL('.', import.meta.url).pathname;
const SINGLE_MESSAGES = Number(process.env.BENCH_SINGLE_MESSAGES ?? 400_000);
const BATCH_MESSAGES = Number(process.env.BENCH_BATCH_MESSAGES ?? 40_000);
const MACHINES = 1250; // × 8 sensors = 10k active sensors, the RSS figure's load
const SENSORS = 8;

interface Target {
  name: string;
  port: number;
  count(): Promise<number>;
  rssBytes(): number;
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

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function startBare(): Promise<Target> {
  const port = await freePort();
  const child = fork(join(here, 'bare-broker.js'), [String(port)], { stdio: 'inherit' });
  await waitMessage<{ ready: boolean }>(child, 'ready');
  return {
    name: 'bare aedes',
    port,
    async count() {
      const reply = waitMessage<{ count: number }>(child, 'count');
      child.send({ count: true });
      return (await reply).count;
    },
    rssBytes: () => rssOf(child.pid!),
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
  const child = fork(join(here, '..', 'bin.js'), ['--config', config], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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
    count: async () => Number(/^pdm_gateway_readings_total (\S+)$/m.exec(await metrics())?.[1] ?? 0),
    rssBytes: () => rssOf(child.pid!),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Runs one load and returns readings/s as counted by the target. */
async function measure(target: Target, mode: 'single' | 'batch' | 'batch-pb', messages: number): Promise<number> {
  stage = `${target.name}, ${mode}`;
  const readingsPerMessage = mode === 'single' ? 1 : 100;
  // Bare aedes counts messages; the gateway counts readings.
  const unit = target.name === 'gateway' ? readingsPerMessage : 1;
  const expected = messages * unit;
  const before = await target.count();
  const load = fork(join(here, 'load.js'), [String(target.port), mode, String(messages), String(MACHINES), String(SENSORS)], { stdio: 'inherit' });
  // Listen for the exit now: the generator often finishes before the target has counted everything.
  const loadExited = new Promise((resolve) => load.once('exit', resolve));
  const started = performance.now();
  let counted = 0;
  // Poll every 100 ms: the gateway's count comes from /metrics, which costs it some work per scrape.
  while (counted < expected) {
    await delay(100);
    counted = (await target.count()) - before;
    if (performance.now() - started > 60_000) throw new Error(`${target.name} ${mode}: only ${counted} of ${expected} readings counted after 60 s`);
  }
  const seconds = (performance.now() - started) / 1000;
  await loadExited;
  return (messages * readingsPerMessage) / seconds;
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

  stage = 'starting bare aedes';
  const bare = await startBare();
  const bareSingle = await measure(bare, 'single', SINGLE_MESSAGES);
  const bareBatch = await measure(bare, 'batch', BATCH_MESSAGES);
  const bareProtobuf = await measure(bare, 'batch-pb', BATCH_MESSAGES);
  await bare.stop();

  stage = 'starting the gateway';
  const gateway = await startGatewayProcess(dir, emulator.endpoint);
  const gatewaySingle = await measure(gateway, 'single', SINGLE_MESSAGES);
  const rss = gateway.rssBytes();
  const gatewayBatch = await measure(gateway, 'batch', BATCH_MESSAGES);
  const gatewayProtobuf = await measure(gateway, 'batch-pb', BATCH_MESSAGES);
  await gateway.stop();

  console.log('');
  console.log('| figure | value | target |');
  console.log('|---|---|---|');
  console.log(`| bare aedes, single readings | ${fmt(bareSingle)} readings/s | baseline |`);
  console.log(`| gateway, single readings (validated + windowed) | ${fmt(gatewaySingle)} readings/s | ≥ 100,000 |`);
  console.log(`| ratio gateway / bare aedes, single | ${(gatewaySingle / bareSingle).toFixed(2)} | ≥ 0.80 |`);
  console.log(`| bare aedes, 100-sample batches | ${fmt(bareBatch)} readings/s | baseline |`);
  console.log(`| gateway, 100-sample batches | ${fmt(gatewayBatch)} readings/s | ≥ 2,000,000 |`);
  console.log(`| ratio gateway / bare aedes, batches | ${(gatewayBatch / bareBatch).toFixed(2)} | |`);
  console.log(`| bare aedes, 100-sample protobuf SensorBatch | ${fmt(bareProtobuf)} readings/s | baseline |`);
  console.log(`| gateway, 100-sample protobuf SensorBatch | ${fmt(gatewayProtobuf)} readings/s | ≥ 2,000,000 |`);
  console.log(`| ratio gateway / bare aedes, protobuf batches | ${(gatewayProtobuf / bareProtobuf).toFixed(2)} | |`);
  console.log(`| gateway RSS with ${fmt(MACHINES * SENSORS)} active sensors | ${(rss / 1024 / 1024).toFixed(0)} MB | ≤ 150 MB |`);
} catch (error) {
  console.error(`gateway benchmark failed at ${stage}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  stage = 'stopping the emulator';
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
}
