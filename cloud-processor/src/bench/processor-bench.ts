// Processor benchmark, all figures from one run on this machine:
//   1. machine-windows/s decoded (protobuf) and scored (batched TF.js) by one process, no sink;
//   2. the bare InfluxDB write of the very lines the sink writes (built by the sink's own line
//      builders) POSTed to influxd's /write over keep-alive connections, a chunk after another, per
//      chunk size, each chunk as one request or split by machine into requests sent at once (as the
//      sink does, influx.parallelRequests), plain and gzip (bodies built before the clock starts;
//      compressing is timed, as a gzip writer would pay it); beside it the `influx` client writing the
//      same points (the former baseline); at the fastest shape the same bodies again through Node's
//      built-in fetch (undici) beside node:http, and the escaping of tag values beside the client's;
//   3. ROUNDS rounds of three stages, so that the stages of a round see about the same load on this
//      shared box: the bare write at the fastest request size of step 2; decode + score with the real
//      InfluxDB sink (sink / bare: InfluxDB, not our code, should limit; sink / `influx` client); the
//      processor's whole path per window (WindowPipeline: revision guard, scoring, the sink, and the
//      AlertDispatcher's alert state over the real InfluxAlertStore, loaded and stored in InfluxDB as in
//      production; no delivery target).
// Every stage also reports CPU per point, of this process and of influxd: on a box with few cores the
// processor's CPU is taken from influxd's. Each stage starts once influxd is idle.
// Windows in flight: the pipeline's bound (pubsub.maxWindowsInFlight; flow control counts FeatureBatch
// messages, not windows), BENCH_IN_FLIGHT to try another; the sink's batch size: influx.batchMaxPoints,
// BENCH_BATCH_POINTS to try another; its requests at once: influx.parallelRequests, BENCH_PARALLEL.
// Usage: npm run bench -w @pdm/cloud-processor   (after a build; needs influxd, see README)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { InfluxDB, escape as influxEscape } from 'influx';
import { CloseReason, MachineWindowSchema, create, decodeMachineWindow, encodeMachineWindow, type MachineWindow } from '@pdm/proto';
import { startTestInflux, uniqueDatabaseName } from '@pdm/influx-harness';
import type { ScoreOutcome } from '../model/api.js';
import { openScorer } from '../scoring/scorer.js';
import { trainModel } from '../training/train.js';
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '../sink/index.js';
import { anomalyPoint, featurePoints } from '../sink/points.js';
import { InfluxWrite } from '../sink/influx-write.js';
import { escapeTag, lineBytes, pointLine } from '../sink/line-protocol.js';
import { anomalyLine, featureLines } from '../sink/window-lines.js';
import { partitionByMachine } from '../sink/machine-partition.js';
import { systemClock } from '@pdm/clock';
import { pino } from 'pino';
import { ALERT_DELIVERY_DEFAULTS, AlertDeliveries } from '../alerts/alert-delivery.js';
import { AlertActionLog, ProcessorActionsView } from '../alerts/alert-actions.js';
import { AlertDispatcher } from '../alerts/alert-dispatcher.js';
import { InfluxAlertStore } from '../alerts/alert-store.js';
import { processorConfigSchema } from '../config/index.js';
import { ProcessorMetrics } from '../ops/metrics.js';
import { PIPELINE_DEFAULTS, WindowPipeline } from '../pipeline/window-pipeline.js';
import { PROCESSOR_NODE_FLAGS } from '../app/node-flags.js';
import { fixHeapGrowth } from '../app/heap-growth.js';

const MACHINES = 1_000;
/** Request sizes of the bare write (BENCH_RAW_SIZES=10000 to measure only that one). */
const RAW_BATCH_SIZES = (process.env.BENCH_RAW_SIZES ?? '1000,2500,5000,10000').split(',').map(Number);
/** Requests a chunk of the bare write is split into, sent at once (BENCH_RAW_PARALLEL=1 for one request at a time only). */
const RAW_PARALLEL = [...new Set((process.env.BENCH_RAW_PARALLEL ?? `1,${INFLUX_SINK_DEFAULTS.parallelRequests}`).split(',').map(Number))];
const ROUNDS = 2;
const WINDOWS_PER_MACHINE = Number(process.env.BENCH_WINDOWS_PER_MACHINE ?? 30);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? PIPELINE_DEFAULTS.maxWindowsInFlight);
const SINK_OPTIONS = {
  ...INFLUX_SINK_DEFAULTS,
  // The windows are hours old (T0): the sink would compute their downsampled means again at flush, the
  // work of an outbox drain (downsample-backfill.ts), not of the write path measured here.
  downsampleIntervals: [],
  batchMaxPoints: Number(process.env.BENCH_BATCH_POINTS ?? INFLUX_SINK_DEFAULTS.batchMaxPoints),
  parallelRequests: Number(process.env.BENCH_PARALLEL ?? INFLUX_SINK_DEFAULTS.parallelRequests),
};
const SENSORS = ['temp', 'current', 'pressure', 'flow', 'vibration'];
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 6 * 3_600_000;

/** A deterministic healthy-looking window: statistics vary smoothly by machine and time. */
function window(machine: number, index: number): MachineWindow {
  const start = T0 + index * 10_000;
  return create(MachineWindowSchema, {
    gatewayId: `gw-${machine % 10}`,
    siteId: 'bench',
    machineId: `m-${machine}`,
    windowStart: BigInt(start),
    windowEnd: BigInt(start + 10_000),
    featureVersion: 1,
    closeReason: CloseReason.WATERMARK,
    sensors: SENSORS.map((sensorId, s) => {
      const base = 10 * (s + 1) + Math.sin(machine * 0.7 + index * 0.05 + s);
      const std = 0.5 + 0.1 * Math.cos(index * 0.3 + s);
      return { sensorId, count: 10, expectedCount: 10, mean: base, variance: std * std, std, min: base - 2 * std, max: base + 2 * std, rms: Math.hypot(base, std), peakToPeak: 4 * std, skewness: 0, kurtosis: 3, crestFactor: 1.2 };
    }),
  });
}

/**
 * Keeps as many windows in process as the pipeline does (IN_FLIGHT), starting the next as one
 * finishes, and returns windows/s.
 */
async function scoreAll(payloads: Uint8Array[], score: (w: MachineWindow) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < payloads.length) await score(decodeMachineWindow(payloads[next++]!));
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return payloads.length / ((performance.now() - started) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** CPU time (user + system) influxd has used so far, µs, from /proc (Linux; clock ticks of 10 ms). */
function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

interface Stage {
  /** points/s */
  rate: number;
  /** CPU per point, µs: this process, and influxd. */
  ownCpuUs: number;
  influxCpuUs: number;
  /** influxd's CPU per point after the stage's last answer until it went idle (snapshots, compactions), µs. */
  influxAfterUs: number;
  /** Write requests the stage sent. */
  requests: number;
}

// The processor as `pdm processor` runs in its container: node's start-up flags (started again with
// them when missing; V8 reads them only at start) and the heap growth it sets at start. Both change how
// much of the processor's CPU goes to garbage collection, most of what the sink's figure measures.
const missingFlags = PROCESSOR_NODE_FLAGS.filter((flag) => !process.execArgv.includes(flag));
if (missingFlags.length > 0) {
  const run = spawnSync(process.execPath, [...process.execArgv, ...missingFlags, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
const heapGrowth = fixHeapGrowth();

const dir = mkdtempSync(join(tmpdir(), 'pdm-processor-bench-'));
const influx = await startTestInflux();
const loadAtStart = loadavg();

/**
 * Waits (at most 30 s) until influxd is idle, under 4 % of a core for half a second, so that a stage
 * does not pay for the cache snapshots and compactions the one before it left behind.
 */
async function influxdIdle(): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 500) {
    const before = processCpuUs(influx.pid);
    await delay(500);
    if (processCpuUs(influx.pid) - before <= 20_000) return;
  }
}

/**
 * Runs one stage that stores `points` points into `database` (`run` resolves with the number of write
 * requests it sent) and measures its rate and CPU, influxd's also until it is idle again: a slower
 * stage sees more of the snapshots and compactions its writes cause within its own time. Every stage
 * writes into a fresh database set up as the sink sets up its own (retention policies, continuous
 * queries), dropped afterwards, so that each starts from the same influxd: no series index, cache or
 * continuous queries left by the stages before it.
 */
async function stage(database: string, points: number, run: () => Promise<number>): Promise<Stage> {
  await new InfluxSink({ ...SINK_OPTIONS, url: influx.url, database }).start();
  await influxdIdle();
  const influxBefore = processCpuUs(influx.pid);
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const requests = await run();
  const seconds = (performance.now() - started) / 1000;
  const own = process.cpuUsage(ownBefore);
  const influxAtEnd = processCpuUs(influx.pid);
  await influxdIdle();
  const influxAfterUs = (processCpuUs(influx.pid) - influxAtEnd) / points;
  await influx.dropDatabase(database);
  return {
    rate: points / seconds,
    ownCpuUs: (own.user + own.system) / points,
    influxCpuUs: (influxAtEnd - influxBefore) / points,
    influxAfterUs,
    requests,
  };
}

const cpu = (s: Stage) => `${s.ownCpuUs.toFixed(1)} / ${s.influxCpuUs.toFixed(1)} (+${s.influxAfterUs.toFixed(1)} after)`;
const average = (stages: Stage[], of: (s: Stage) => number) => stages.reduce((sum, s) => sum + of(s), 0) / stages.length;
const mean = (stages: Stage[]): Stage => ({
  rate: average(stages, (s) => s.rate),
  ownCpuUs: average(stages, (s) => s.ownCpuUs),
  influxCpuUs: average(stages, (s) => s.influxCpuUs),
  influxAfterUs: average(stages, (s) => s.influxAfterUs),
  requests: average(stages, (s) => s.requests),
});

try {
  const windows: MachineWindow[] = [];
  for (let i = 0; i < WINDOWS_PER_MACHINE; i++) for (let m = 0; m < MACHINES; m++) windows.push(window(m, i));
  const payloads = windows.map((w) => encodeMachineWindow(w));
  // The autoencoder, the slowest kind to score (the model benchmark: about half robust-t2's rate), so
  // that the figure holds for every kind; and a model without online state, so that scoring the same
  // windows again in every stage gives the same outcomes and points.
  await trainModel(windows.slice(0, 2_000), { outDir: dir, name: 'bench', kind: 'autoencoder', epochs: 50 });
  const scorer = await openScorer({ registryDir: dir, maxBatch: 512 });
  const backend = scorer.loaded()[0]?.backend;

  // 1. Decode + score, no sink.
  let scored = 0;
  const scoreOnly = await scoreAll(payloads, async (w) => {
    if ((await scorer.score(w)).kind === 'scored') scored++;
  });

  // 2. The very lines the sink writes, by its own builders, and the same points as objects (the client's).
  const outcomes: ScoreOutcome[] = await Promise.all(windows.map((w) => scorer.score(w)));
  const sinkLines = (w: MachineWindow, outcome: ScoreOutcome) => [...featureLines(w).lines, ...(outcome.kind === 'scored' ? anomalyLine(outcome.score).lines : [])];
  const lines = windows.flatMap((w, i) => sinkLines(w, outcomes[i]!));
  const points = windows.flatMap((w, i) => {
    const outcome = outcomes[i]!;
    return [...featurePoints(w).points, ...(outcome.kind === 'scored' ? anomalyPoint(outcome.score).points : [])];
  });
  const pointsPerWindow = points.length / windows.length;

  // The former baseline: the `influx` client, in the sink's default batch size.
  const clientDb = uniqueDatabaseName('bench_client');
  const client = new InfluxDB({ host: influx.host, port: influx.port, database: clientDb });
  const clientStage = await stage(clientDb, points.length, async () => {
    let requests = 0;
    for (let i = 0; i < points.length; i += INFLUX_SINK_DEFAULTS.batchMaxPoints, requests++) {
      await client.writePoints(points.slice(i, i + INFLUX_SINK_DEFAULTS.batchMaxPoints), { precision: 'ms' });
    }
    return requests;
  });

  // The bare write: line protocol over keep-alive connections, each into a database of its own; each
  // chunk of `size` points as one request, or split by machine into `parallel` requests sent at once,
  // one chunk after another (as the sink writes a batch).
  const bodiesByShape = new Map<string, Buffer[][]>();
  const shape = (size: number, parallel: number) => `${size}×${parallel}`;
  const shapes = RAW_BATCH_SIZES.flatMap((size) => RAW_PARALLEL.map((parallel) => ({ size, parallel })));
  for (const { size, parallel } of shapes) {
    const chunks: Buffer[][] = [];
    for (let i = 0; i < lines.length; i += size) chunks.push(partitionByMachine(lines.slice(i, i + size).map(lineBytes), parallel).map((part) => Buffer.concat(part)));
    bodiesByShape.set(shape(size, parallel), chunks);
  }
  const pointCount = points.length;
  const bareWrite = async (size: number, parallel: number, gzip: boolean) => {
    const database = uniqueDatabaseName('bench_raw');
    const writer = new InfluxWrite({ url: influx.url, database, requestTimeoutMs: 60_000, gzip, maxSockets: parallel });
    return stage(database, pointCount, async () => {
      let requests = 0;
      for (const bodies of bodiesByShape.get(shape(size, parallel))!) {
        await Promise.all(bodies.map((body) => writer.write(body)));
        requests += bodies.length;
      }
      return requests;
    });
  };
  const raw: { size: number; parallel: number; gzip: boolean; stage: Stage }[] = [];
  for (const { size, parallel } of shapes) for (const gzip of [false, true]) raw.push({ size, parallel, gzip, stage: await bareWrite(size, parallel, gzip) });
  const fastest = raw.reduce((best, r) => (r.stage.rate > best.stage.rate ? r : best));
  // The same bodies through Node's built-in fetch (undici, the well-kept HTTP client of Node itself,
  // keep-alive by default) at the fastest shape, plain: does a library measure within 1.5 × of the
  // sink's own node:http POST (issue #17)?
  const fetchWrite = async (size: number, parallel: number) => {
    const database = uniqueDatabaseName('bench_fetch');
    const url = `${influx.url}/write?${new URLSearchParams({ db: database, precision: 'ms' }).toString()}`;
    return stage(database, pointCount, async () => {
      let requests = 0;
      for (const bodies of bodiesByShape.get(shape(size, parallel))!) {
        await Promise.all(
          bodies.map(async (body) => {
            const answer = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain; charset=utf-8' } });
            const text = await answer.text();
            if (answer.status !== 204) throw new Error(`fetch write: ${answer.status} ${text}`);
          }),
        );
        requests += bodies.length;
      }
      return requests;
    });
  };
  const nodeHttpAgain = await bareWrite(fastest.size, fastest.parallel, false);
  const throughFetch = await fetchWrite(fastest.size, fastest.parallel);
  // Only the fastest bodies stay alive: every GC of the stages below marks whatever this process holds.
  for (const key of [...bodiesByShape.keys()]) if (key !== shape(fastest.size, fastest.parallel)) bodiesByShape.delete(key);

  // Building the request bodies alone, CPU time (wall time on a loaded box says little), the sink's
  // way (lines straight from each window) and the former way (point objects, then pointLine).
  const bodiesCpuUs = (linesOf: (w: MachineWindow, outcome: ScoreOutcome) => string[]) => {
    const started = process.cpuUsage();
    let batch: Buffer[] = [];
    windows.forEach((w, i) => {
      for (const line of linesOf(w, outcomes[i]!)) batch.push(lineBytes(line));
      if (batch.length >= SINK_OPTIONS.batchMaxPoints) {
        Buffer.concat(batch);
        batch = [];
      }
    });
    const used = process.cpuUsage(started);
    return (used.user + used.system) / pointCount;
  };
  const linesUs = bodiesCpuUs(sinkLines);
  // Escaping alone: every tag value of the lines (gateway, machine, sensor, site) through the sink's
  // escapeTag and through the `influx` client's escape.tag (a regex per string; it also rewrites `\'`,
  // which would change stored values), ns per value.
  const tagValues = windows.flatMap((w) => [w.gatewayId, w.machineId, w.siteId, ...w.sensors.map((s) => s.sensorId)]);
  const escapeNs = (escape: (text: string) => string) => {
    let length = 0;
    const started = process.hrtime.bigint();
    for (const value of tagValues) length += escape(value).length;
    const ns = Number(process.hrtime.bigint() - started) / tagValues.length;
    return length > 0 ? ns : Number.NaN;
  };
  escapeNs(escapeTag);
  escapeNs(influxEscape.tag); // both warmed up before the timed passes
  const ourEscapeNs = escapeNs(escapeTag);
  const clientEscapeNs = escapeNs(influxEscape.tag);
  const serializeUs = bodiesCpuUs((w, outcome) => [...featurePoints(w).points, ...(outcome.kind === 'scored' ? anomalyPoint(outcome.score).points : [])].map(pointLine));
  // Not needed below, and every GC of the stages below would mark them.
  points.length = 0;
  lines.length = 0;

  // 3. Decode + score + the real sink (writes awaited, as the transport awaits them before acking),
  // alternating with the bare write of the same points.
  const sinkRun = async () => {
    let requests = 0;
    const database = uniqueDatabaseName('bench_sink');
    const sink = new InfluxSink({ ...SINK_OPTIONS, url: influx.url, database }, { batchWritten: () => requests++ });
    return stage(database, pointCount, async () => {
      await scoreAll(payloads, async (w) => {
        const outcome = await scorer.score(w);
        await sink.writeScoredWindow(w, outcome.kind === 'scored' ? outcome.score : undefined);
      });
      await sink.flush();
      return requests;
    });
  };
  // 3b. The processor's path: WindowPipeline with the AlertDispatcher over the real InfluxAlertStore
  // (each machine's alert state loaded from and stored in InfluxDB as the rule needs), in a database of
  // its own, as the processor wires them (start-processor.ts) without delivery targets.
  const silent = pino({ level: 'silent' });
  const alertsConfig = processorConfigSchema.parse({}).alerts;
  const pipelineRun = async () => {
    let requests = 0;
    const database = uniqueDatabaseName('bench_pipeline');
    // Its database is set up by stage(), as every stage's.
    const sink = new InfluxSink({ ...SINK_OPTIONS, url: influx.url, database }, { batchWritten: () => requests++ });
    const alertStore = new InfluxAlertStore(sink);
    const metrics = new ProcessorMetrics();
    const deliveries = new AlertDeliveries([], alertStore, ALERT_DELIVERY_DEFAULTS, systemClock, silent);
    const actions = new ProcessorActionsView(new AlertActionLog(sink), systemClock, alertsConfig.actionsRefreshMs);
    const dispatcher = new AlertDispatcher(alertsConfig, alertStore, deliveries, metrics, systemClock, silent, actions);
    const pipeline = new WindowPipeline(sink, scorer, dispatcher, metrics, systemClock, silent, { maxWindowsInFlight: IN_FLIGHT });
    return stage(database, pointCount, async () => {
      await scoreAll(payloads, (w) => pipeline.handle(w));
      await sink.flush();
      return requests;
    });
  };

  // Each round runs the three stages one after another, so that the ratios of a round compare stages
  // that saw about the same load on this shared box.
  const rounds: { bare: Stage; sink: Stage; pipeline: Stage }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await bareWrite(fastest.size, fastest.parallel, fastest.gzip);
    const sink = await sinkRun();
    rounds.push({ bare, sink, pipeline: await pipelineRun() });
  }
  const bare = mean(rounds.map((r) => r.bare));
  const withSink = mean(rounds.map((r) => r.sink));
  const withAlerts = mean(rounds.map((r) => r.pipeline));
  await scorer.close();

  const ratio = (rate: number, baseline: number) => (rate / baseline).toFixed(2);
  const bareShape = (r: { size: number; parallel: number; gzip: boolean }) =>
    `${fmt(r.size)} points at a time${r.parallel > 1 ? ` in ${r.parallel} requests at once` : ', one request'}, ${r.gzip ? 'gzip' : 'plain'}`;
  const requests = (s: Stage) => `${fmt(s.requests)} requests of ${fmt(pointCount / s.requests)} points on average`;
  const perWindow = (s: Stage) => `${fmt(s.rate)} points/s = ${fmt(s.rate / pointsPerWindow)} windows/s, ${requests(s)}`;
  const load = loadavg();
  console.log(`processor benchmark: ${fmt(windows.length)} machine-windows (${MACHINES} machines × ${WINDOWS_PER_MACHINE}), ${SENSORS.length} sensors each, ${fmt(pointCount)} points, TF.js backend ${backend}`);
  console.log(`node ${process.execArgv.join(' ')}, heap growing percent ${heapGrowth.percent} (as pdm processor runs in its container)`);
  console.log(`${fmt(IN_FLIGHT)} windows in flight, sink batches of at most ${fmt(SINK_OPTIONS.batchMaxPoints)} points, each in ${SINK_OPTIONS.parallelRequests} requests at once`);
  console.log(`load average (1/5/15 min): ${loadAtStart.map((l) => l.toFixed(1)).join(' ')} at start, ${load.map((l) => l.toFixed(1)).join(' ')} at the end`);
  console.log('');
  console.log('| figure | value | CPU µs/point: this process / influxd (+ influxd after the stage until idle) | ratio | target |');
  console.log('|---|---|---|---|---|');
  console.log(`| decode + score, no sink | ${fmt(scoreOnly)} windows/s (${fmt(scored)} scored) | | | ≥ 20,000 |`);
  console.log(`| the \`influx\` client writing the same points, batches of ${fmt(INFLUX_SINK_DEFAULTS.batchMaxPoints)} | ${perWindow(clientStage)} | ${cpu(clientStage)} | 1.00 (client baseline) | |`);
  for (const r of raw) {
    console.log(`| bare line protocol, keep-alive, ${bareShape(r)} | ${fmt(r.stage.rate)} points/s | ${cpu(r.stage)} | ${ratio(r.stage.rate, clientStage.rate)} × client | |`);
  }
  console.log(`| the fastest bare write again, node:http (the sink's InfluxWrite) / Node's built-in fetch (undici), plain | ${fmt(nodeHttpAgain.rate)} / ${fmt(throughFetch.rate)} points/s | ${cpu(nodeHttpAgain)} vs ${cpu(throughFetch)} | fetch ${ratio(throughFetch.rate, nodeHttpAgain.rate)} × node:http | |`);
  console.log(`| building the request bodies alone, CPU: straight from the windows (the sink) / through point objects (before) | ${linesUs.toFixed(1)} / ${serializeUs.toFixed(1)} µs/point | | | |`);
  console.log(`| escaping a tag value: the sink's escapeTag / the \`influx\` client's escape.tag (${fmt(tagValues.length)} values) | ${ourEscapeNs.toFixed(0)} / ${clientEscapeNs.toFixed(0)} ns | | client ${ratio(clientEscapeNs, ourEscapeNs)} × the time | |`);
  rounds.forEach((r, i) => {
    console.log(`| round ${i + 1}: bare write (${bareShape(fastest)}) | ${perWindow(r.bare)} | ${cpu(r.bare)} | | |`);
    console.log(`| round ${i + 1}: decode + score + InfluxDB sink | ${perWindow(r.sink)} | ${cpu(r.sink)} | ${ratio(r.sink.rate, r.bare.rate)} × bare | |`);
    console.log(`| round ${i + 1}: decode + the processor's path per window: score, sink, alert state over InfluxAlertStore | ${perWindow(r.pipeline)} | ${cpu(r.pipeline)} | ${ratio(r.pipeline.rate, r.bare.rate)} × bare | |`);
  });
  console.log(`| **sink / bare write of the same points** (mean of ${ROUNDS} rounds) | ${ratio(withSink.rate, bare.rate)} | | | ≥ 0.80 |`);
  // On a box where the two processes share too few cores, the rates' ratio tends to this one, which
  // other processes' load disturbs less than the rates.
  const cpuPerPoint = (s: Stage) => s.ownCpuUs + s.influxCpuUs + s.influxAfterUs;
  console.log(`| CPU per point of both processes (influxd's after the stage included): bare / sink | ${cpuPerPoint(bare).toFixed(1)} / ${cpuPerPoint(withSink).toFixed(1)} µs | | ${ratio(cpuPerPoint(bare), cpuPerPoint(withSink))} | |`);
  console.log(`| sink / \`influx\` client | ${ratio(withSink.rate, clientStage.rate)} | | | |`);
  console.log(`| processor path (sink + alert state) / bare write (mean of ${ROUNDS} rounds) | ${ratio(withAlerts.rate, bare.rate)}, ${requests(withAlerts)} | | | |`);
} finally {
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
}
