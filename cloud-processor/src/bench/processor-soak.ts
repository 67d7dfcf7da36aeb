// Processor soak (issue #17: "RSS flat within ±15 % after the first 5 minutes"), the processor alone, so
// that its memory can be studied without the whole pipeline: the project's Pub/Sub emulator (in this
// process), a real influxd, and one processor process per variant (soak-processor.ts: `pdm processor`
// plus memory samples), all fed the same traffic: every 10 s, one window for each of 1,000 machines, in
// FeatureBatch messages of 8 shards as a gateway publishes them, at once at the window boundary. The
// variants run side by side (each its own subscription and InfluxDB database), so they see the same load
// on this shared box; the verdict per variant is the pipeline bench's: every RSS sample after the
// settling time within ±15 % of their median. Where the memory is comes with it: V8 heap committed (old
// and new space), external memory, and the rest (native: malloc, code, stacks).
// Usage (after a build; needs influxd, see README):
//   node dist/bench/processor-soak.js [--minutes 12] [--settle-minutes 5]
//   SOAK_VARIANTS='[{"name":"shipped"},{"name":"semi 32","nodeArgs":["--max-semi-space-size=32"]},
//                   {"name":"arenas 2","env":{"MALLOC_ARENA_MAX":"2"}},
//                   {"name":"base","script":"/tmp/base/cloud-processor/dist/bench/soak-processor.js"}]'
//   (default: shipped alone; a variant's node flags are PROCESSOR_NODE_FLAGS, as the container runs the
//   processor, unless it gives its own: "nodeArgs":[] runs it without; "script" runs a built clone's
//   processor: older code under the same load)
// Each processor's standard output (its logs; --trace-gc if a variant asks for it) is kept in the
// folder printed at the end, with the V8 heap snapshots a variant asks for at minutes of the soak,
// e.g. {"name":"snapshots","heapSnapshots":[5,25]}: each stops its processor for seconds, collects its
// garbage and takes memory of its own, which shows in that variant's samples (run a variant without
// them alongside for the RSS verdict); heap-snapshot-diff.js compares two.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import { CloseReason, FeatureBatchSchema, MachineWindowSchema, create, encodeFeatureBatchOf, encodeMachineWindow, featureBatchOrderingKey, pubsubAttributes, type MachineWindow } from '@pdm/proto';
import { freePort, startTestInflux } from '@pdm/influx-harness';
import { start as startEmulator } from '@pdm/pubsub-emulator';
import { pino } from 'pino';
import { uniform } from '../test-support/seeded-samplers.js';
import { PROCESSOR_NODE_FLAGS } from '../app/node-flags.js';
import { trainModel } from '../training/train.js';

const { values: flags } = parseArgs({ options: { minutes: { type: 'string', default: '12' }, 'settle-minutes': { type: 'string', default: '5' } } });
const SOAK_MS = Number(flags.minutes) * 60_000;
const SETTLE_MS = Number(flags['settle-minutes']) * 60_000;
const TOLERANCE = 0.15;
const MACHINES = 1_000;
const SHARDS = 8;
const WINDOW_MS = 10_000;
const SENSORS = ['temp', 'current', 'pressure', 'flow', 'vibration'];
const PROJECT = 'pdm-soak';
const TOPIC = 'soak-features';
const SOURCE = { gatewayId: 'soak-gw', siteId: 'soak-site' };
const MB = 2 ** 20;

interface Variant {
  name: string;
  /** Node flags before the script: by default those its container runs it with (PROCESSOR_NODE_FLAGS); [] for none. */
  nodeArgs?: readonly string[];
  /** Added to the processor's environment (MALLOC_ARENA_MAX, NODE_OPTIONS…). */
  env?: Record<string, string>;
  /** Minutes of the soak at which to write a heap snapshot of this processor. */
  heapSnapshots?: number[];
  /** The processor script: this build's soak-processor.js unless a built clone's (older code in the same run). */
  script?: string;
}
const variants: Variant[] = JSON.parse(process.env.SOAK_VARIANTS ?? '[{"name":"shipped"}]') as Variant[];

/** One soak-processor.ts sample (bytes). */
interface Sample {
  at: number;
  rss: number;
  rssAnon: number;
  rssFile: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, { size: number; used: number }>;
}

// Seeded: the same traffic in every run.
const random = uniform(17);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** A healthy window of machine `machine`: every sensor around its own level, with noise in every statistic. */
function healthyWindow(machine: number, startMs: number): MachineWindow {
  return create(MachineWindowSchema, {
    ...SOURCE,
    machineId: `m-${machine}`,
    windowStart: BigInt(startMs),
    windowEnd: BigInt(startMs + WINDOW_MS),
    featureVersion: 1,
    closeReason: CloseReason.WATERMARK,
    closedAt: BigInt(Date.now()),
    sensors: SENSORS.map((sensorId, s) => {
      const mean = 10 * (s + 1) + (machine % 7) + 0.3 * gaussian();
      const std = 0.5 + 0.05 * Math.abs(gaussian());
      const min = mean - 2 * std + 0.1 * gaussian();
      const max = mean + 2 * std + 0.1 * gaussian();
      return { sensorId, count: 10, expectedCount: 10, mean, variance: std * std, std, min, max, rms: Math.hypot(mean, std), peakToPeak: max - min, skewness: 0.1 * gaussian(), kurtosis: 3 + 0.2 * gaussian(), crestFactor: max / Math.hypot(mean, std) };
    }),
  });
}

/** Utime + stime of a process, seconds (Linux clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const load = () => loadavg().map((l) => l.toFixed(1)).join(', ');
const mb = (bytes: number) => (bytes / MB).toFixed(0);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** What a sample holds, as printed: RSS, V8's committed heap and its spaces, and what is outside the heap. */
const PARTS: [string, (s: Sample) => number][] = [
  ['RSS', (s) => s.rss],
  ['RSS anon', (s) => s.rssAnon],
  ['V8 heap committed', (s) => s.heapTotal],
  ['old space committed', (s) => s.spaces.old_space?.size ?? 0],
  ['old space used', (s) => s.spaces.old_space?.used ?? 0],
  ['new space committed', (s) => s.spaces.new_space?.size ?? 0],
  ['large objects committed', (s) => (s.spaces.large_object_space?.size ?? 0) + (s.spaces.new_large_object_space?.size ?? 0)],
  ['external', (s) => s.external],
  ['RSS − heap − external', (s) => s.rss - s.heapTotal - s.external],
];

interface Running {
  index: number;
  variant: Variant;
  child: ChildProcess;
  samples: Sample[];
  subscription: string;
  cpuAtSettle?: number;
  ackedAtSettle?: number;
}

// Everything here talks to the emulator: no Google credentials to look for (the processors inherit it).
process.env.METADATA_SERVER_DETECTION ??= 'none';
const dir = mkdtempSync(join(tmpdir(), 'pdm-processor-soak-'));
const influx = await startTestInflux();
const emulator = await startEmulator({ port: 0, adminPort: false, logger: pino({ level: 'silent' }), orderingKeyBatch: 100 });
const running: Running[] = [];
// A benchmark must end by itself.
setTimeout(() => {
  console.error('processor soak: no result in time');
  process.exit(1);
}, SOAK_MS + 15 * 60_000).unref();

try {
  console.log(`processor soak: ${MACHINES} machines, one FeatureBatch per shard (${SHARDS}) every ${WINDOW_MS / 1000} s, ${flags.minutes} minutes (verdict after ${flags['settle-minutes']}); load average at start ${load()}`);
  const registryDir = join(dir, 'models');
  const training: MachineWindow[] = [];
  for (let i = 0; i < 10; i++) for (let m = 0; m < 400; m++) training.push(healthyWindow(m, Date.now() - (20 - i) * WINDOW_MS));
  await trainModel(training, { outDir: registryDir, name: 'soak' });

  const childScript = fileURLToPath(new URL('./soak-processor.js', import.meta.url));
  for (const [i, variant] of variants.entries()) {
    const subscription = `soak-processor-${i}`;
    const config = join(dir, `processor-${i}.json`);
    writeFileSync(config, JSON.stringify({
      instanceId: `soak-${i}`,
      pubsub: { projectId: PROJECT, emulatorHost: emulator.endpoint, featuresTopic: TOPIC, subscription, createResources: true },
      influx: { url: influx.url, database: `soak_${i}` },
      model: { registryDir },
      http: { host: '127.0.0.1', port: await freePort() },
      log: { level: 'warn' },
    }));
    const out = createWriteStream(join(dir, `processor-${i}.out`));
    const child = spawn(process.execPath, [...(variant.nodeArgs ?? PROCESSOR_NODE_FLAGS), variant.script ?? childScript, '--config', config], { env: { ...process.env, ...variant.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.pipe(out);
    const run: Running = { index: i, variant, child, samples: [], subscription };
    running.push(run);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`processor "${variant.name}" exited with ${code} before it started`)));
      createInterface({ input: child.stderr }).on('line', (line) => {
        if (line.startsWith('soak-sample ')) run.samples.push(JSON.parse(line.slice('soak-sample '.length)) as Sample);
        else if (line.startsWith('soak-snapshot ')) console.log(`  [${variant.name}] heap snapshot ${line.slice('soak-snapshot '.length)}`);
        else if (/ops HTTP on port/.test(line)) resolve();
        else console.error(`  [${variant.name}] ${line}`);
      });
    });
    console.log(`  processor "${variant.name}": pid ${child.pid}, node ${(variant.nodeArgs ?? PROCESSOR_NODE_FLAGS).join(' ') || '(no flags)'}${variant.env ? `, env ${JSON.stringify(variant.env)}` : ''}`);
  }

  const publisher = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.endpoint, emulatorMode: true });
  const topic = publisher.topic(TOPIC, { messageOrdering: true });
  const attributes = pubsubAttributes(FeatureBatchSchema, SOURCE);
  const acked = (run: Running) => emulator.stats().subscriptions[`projects/${PROJECT}/subscriptions/${run.subscription}`]?.acked ?? 0;
  const backlog = (run: Running) => emulator.stats().subscriptions[`projects/${PROJECT}/subscriptions/${run.subscription}`]?.backlog ?? 0;

  const started = Date.now();
  let nextMinute = started + 60_000;
  let settled = false;
  let windows = 0;
  while (Date.now() - started < SOAK_MS) {
    // At the next boundary, every machine's window that just ended, as a gateway publishes them.
    const boundary = Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS;
    await delay(boundary - Date.now());
    const shards: Uint8Array[][] = Array.from({ length: SHARDS }, () => []);
    for (let m = 0; m < MACHINES; m++) shards[m % SHARDS]!.push(encodeMachineWindow(healthyWindow(m, boundary - WINDOW_MS)));
    await Promise.all(shards.map((encoded, shard) => topic.publishMessage({ data: Buffer.from(encodeFeatureBatchOf({ ...SOURCE, shard }, encoded)), attributes, orderingKey: featureBatchOrderingKey(SOURCE.gatewayId, shard) })));
    windows += MACHINES;
    if (!settled && Date.now() - started >= SETTLE_MS) {
      settled = true;
      for (const run of running) {
        run.cpuAtSettle = cpuSeconds(run.child.pid!);
        run.ackedAtSettle = acked(run);
      }
    }
    if (Date.now() >= nextMinute) {
      nextMinute += 60_000;
      const minute = Math.round((Date.now() - started) / 60_000);
      for (const run of running) {
        const s = run.samples.at(-1);
        if (!s) continue;
        console.log(`  +${minute} min ${run.variant.name}: RSS ${mb(s.rss)} MB = heap ${mb(s.heapTotal)} (old ${mb(s.spaces.old_space?.size ?? 0)}/${mb(s.spaces.old_space?.used ?? 0)} used, new ${mb(s.spaces.new_space?.size ?? 0)}) + external ${mb(s.external)} + rest ${mb(s.rss - s.heapTotal - s.external)}; CPU ${cpuSeconds(run.child.pid!).toFixed(0)} s; backlog ${backlog(run)}; load ${load()}`);
        if (run.variant.heapSnapshots?.includes(minute)) run.child.stdin!.write(`heap-snapshot ${join(dir, `processor-${run.index}-minute-${minute}.heapsnapshot`)}\n`);
      }
    }
  }
  await topic.flush();
  await delay(5_000);

  console.log('');
  console.log(`${windows.toLocaleString('en-US')} windows published; load average at the end ${load()}. Per processor, the samples after ${flags['settle-minutes']} minutes (every ~2 s), MB: median, min–max, worst distance from the median`);
  for (const run of running) {
    const after = run.samples.filter((s) => s.at - started > SETTLE_MS);
    const cpu = cpuSeconds(run.child.pid!) - (run.cpuAtSettle ?? 0);
    const ackedBatches = acked(run) - (run.ackedAtSettle ?? 0);
    console.log(`${run.variant.name}: ${after.length} samples; CPU after settling ${cpu.toFixed(1)} s = ${((1000 * cpu) / Math.max(1, ackedBatches * (MACHINES / SHARDS))).toFixed(3)} ms per window (${ackedBatches} batches acked); backlog at the end ${backlog(run)}`);
    for (const [name, of] of PARTS) {
      const values = after.map(of);
      if (values.length === 0) continue;
      const mid = median(values);
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      const worst = Math.max(mid - lo, hi - mid) / mid;
      const verdict = name === 'RSS' ? (worst <= TOLERANCE ? ' flat' : ' NOT flat') : '';
      console.log(`  ${name.padEnd(24)} ${mb(mid).padStart(5)}  ${mb(lo)}–${mb(hi)}  ${(100 * worst).toFixed(1)} %${verdict}`);
    }
  }
  await publisher.close();
} finally {
  for (const { child } of running) child.kill('SIGTERM');
  await Promise.all(running.filter(({ child }) => child.exitCode === null).map(({ child }) => new Promise((resolve) => child.once('exit', resolve))));
  await emulator.stop();
  await influx.stop();
  rmSync(join(dir, 'models'), { recursive: true, force: true });
  console.log(`processor logs and configurations: ${dir}`);
}
