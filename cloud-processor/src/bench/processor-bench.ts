// Processor benchmark, all figures from one run on this machine:
//   1. machine-windows/s decoded (protobuf) and scored (batched TF.js) by one process, no sink;
//   2. the bare InfluxDB write ceiling for the very points the sink writes: the same points as line
//      protocol POSTed to influxd's /write over one keep-alive connection, one request after another,
//      per batch size, plain and gzip (bodies built before the clock starts; compressing is timed, as
//      a gzip writer would pay it); beside it the `influx` client writing them (the former baseline);
//   3. decode + score with the real InfluxDB sink, as a ratio to the fastest bare write (InfluxDB, not
//      our code, should limit) and to the `influx` client; then the processor's whole path per window
//      (WindowPipeline: revision guard, scoring, the sink, and the AlertDispatcher's alert state over
//      the real InfluxAlertStore, loaded and stored in InfluxDB as in production; no delivery target),
//      which is the figure the ratio is taken from.
// Usage: npm run bench -w @pdm/cloud-processor   (after a build; needs influxd, see README)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { CloseReason, MachineWindowSchema, create, decodeMachineWindow, encodeMachineWindow, type MachineWindow } from '@pdm/proto';
import { startTestInflux, uniqueDatabaseName } from '@pdm/influx-harness';
import type { ScoreOutcome } from '../model/api.js';
import { openScorer } from '../scoring/scorer.js';
import { trainModel } from '../training/train.js';
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '../sink/index.js';
import { anomalyPoint, featurePoints } from '../sink/points.js';
import { InfluxWrite } from '../sink/influx-write.js';
import { PUBSUB_TRANSPORT_DEFAULTS } from '../transport/options.js';
import { toLineProtocol } from '../sink/line-protocol.js';
import { systemClock } from '@pdm/clock';
import { pino } from 'pino';
import { ALERT_DELIVERY_DEFAULTS, AlertDeliveries } from '../alerts/alert-delivery.js';
import { AlertActionLog, ProcessorActionsView } from '../alerts/alert-actions.js';
import { AlertDispatcher } from '../alerts/alert-dispatcher.js';
import { InfluxAlertStore } from '../alerts/alert-store.js';
import { processorConfigSchema } from '../config/index.js';
import { ProcessorMetrics } from '../ops/metrics.js';
import { WindowPipeline } from '../pipeline/window-pipeline.js';

const MACHINES = 1_000;
const RAW_BATCH_SIZES = [1_000, 5_000, 10_000];
const WINDOWS_PER_MACHINE = Number(process.env.BENCH_WINDOWS_PER_MACHINE ?? 30);
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
 * Keeps as many windows in process as the transport does by default (its flow control's
 * maxMessages), starting the next as one finishes, and returns windows/s.
 */
async function scoreAll(payloads: Uint8Array[], score: (w: MachineWindow) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < payloads.length) await score(decodeMachineWindow(payloads[next++]!));
  };
  await Promise.all(Array.from({ length: PUBSUB_TRANSPORT_DEFAULTS.flowControl.maxMessages }, lane));
  return payloads.length / ((performance.now() - started) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const dir = mkdtempSync(join(tmpdir(), 'pdm-processor-bench-'));
const influx = await startTestInflux();
try {
  const windows: MachineWindow[] = [];
  for (let i = 0; i < WINDOWS_PER_MACHINE; i++) for (let m = 0; m < MACHINES; m++) windows.push(window(m, i));
  const payloads = windows.map((w) => encodeMachineWindow(w));
  await trainModel(windows.slice(0, 2_000), { outDir: dir, name: 'bench', kind: 'autoencoder', epochs: 50 });
  const scorer = await openScorer({ registryDir: dir, maxBatch: 512 });
  const backend = scorer.loaded()[0]?.backend;

  // 1. Decode + score, no sink.
  let scored = 0;
  const scoreOnly = await scoreAll(payloads, async (w) => {
    if ((await scorer.score(w)).kind === 'scored') scored++;
  });

  // 2. The very points the sink writes.
  const outcomes: ScoreOutcome[] = await Promise.all(windows.map((w) => scorer.score(w)));
  const points = windows.flatMap((w, i) => {
    const outcome = outcomes[i]!;
    return [...featurePoints(w).points, ...(outcome.kind === 'scored' ? anomalyPoint(outcome.score).points : [])];
  });
  const pointsPerWindow = points.length / windows.length;

  // The former baseline: the `influx` client, in the sink's default batch size.
  const clientDb = uniqueDatabaseName('bench_client');
  await influx.createDatabase(clientDb);
  const client = new InfluxDB({ host: influx.host, port: influx.port, database: clientDb });
  const clientStarted = performance.now();
  for (let i = 0; i < points.length; i += INFLUX_SINK_DEFAULTS.batchMaxPoints) {
    await client.writePoints(points.slice(i, i + INFLUX_SINK_DEFAULTS.batchMaxPoints), { precision: 'ms' });
  }
  const clientRate = points.length / ((performance.now() - clientStarted) / 1000);

  // The bare write: line protocol over one keep-alive connection, each into a database of its own.
  const raw: { size: number; gzip: boolean; rate: number }[] = [];
  for (const size of RAW_BATCH_SIZES) {
    const bodies: string[] = [];
    for (let i = 0; i < points.length; i += size) bodies.push(toLineProtocol(points.slice(i, i + size)));
    for (const gzip of [false, true]) {
      const database = uniqueDatabaseName('bench_raw');
      await influx.createDatabase(database);
      const writer = new InfluxWrite({ url: influx.url, database, requestTimeoutMs: 60_000, gzip, maxSockets: 1 });
      const started = performance.now();
      for (const body of bodies) await writer.write(body);
      raw.push({ size, gzip, rate: points.length / ((performance.now() - started) / 1000) });
    }
  }
  const ceiling = raw.reduce((best, r) => (r.rate > best.rate ? r : best));

  // Building line protocol alone (the sink's own CPU per point before the POST).
  const serializeStarted = performance.now();
  for (let i = 0; i < points.length; i += INFLUX_SINK_DEFAULTS.batchMaxPoints) toLineProtocol(points.slice(i, i + INFLUX_SINK_DEFAULTS.batchMaxPoints));
  const serializeUs = ((performance.now() - serializeStarted) * 1000) / points.length;

  // 3. Decode + score + the real sink (writes awaited, as the transport awaits them before acking).
  const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: uniqueDatabaseName('bench_sink') });
  await sink.start();
  const withSink = await scoreAll(payloads, async (w) => {
    const outcome = await scorer.score(w);
    await sink.writeScoredWindow(w, outcome.kind === 'scored' ? outcome.score : undefined);
  });
  await sink.flush();

  // 3b. The processor's path: WindowPipeline with the AlertDispatcher over the real InfluxAlertStore
  // (each machine's alert state loaded from and stored in InfluxDB as the rule needs), in a database of
  // its own, as the processor wires them (start-processor.ts) without delivery targets.
  const silent = pino({ level: 'silent' });
  const alertsConfig = processorConfigSchema.parse({}).alerts;
  const pipelineSink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: uniqueDatabaseName('bench_pipeline') });
  await pipelineSink.start();
  const alertStore = new InfluxAlertStore(pipelineSink);
  const metrics = new ProcessorMetrics();
  const deliveries = new AlertDeliveries([], alertStore, ALERT_DELIVERY_DEFAULTS, systemClock, silent);
  const actions = new ProcessorActionsView(new AlertActionLog(pipelineSink), systemClock, alertsConfig.actionsRefreshMs);
  const dispatcher = new AlertDispatcher(alertsConfig, alertStore, deliveries, metrics, systemClock, silent, actions);
  const pipeline = new WindowPipeline(pipelineSink, scorer, dispatcher, metrics, systemClock, silent);
  const withAlerts = await scoreAll(payloads, (w) => pipeline.handle(w));
  await pipelineSink.flush();
  await scorer.close();

  const sinkPoints = withSink * pointsPerWindow;
  const pipelinePoints = withAlerts * pointsPerWindow;
  const ratio = (rate: number, baseline: number) => (rate / baseline).toFixed(2);
  console.log(`processor benchmark: ${fmt(windows.length)} machine-windows (${MACHINES} machines × ${WINDOWS_PER_MACHINE}), ${SENSORS.length} sensors each, ${fmt(points.length)} points, TF.js backend ${backend}`);
  console.log('');
  console.log('| figure | value | ratio | target |');
  console.log('|---|---|---|---|');
  console.log(`| decode + score, no sink | ${fmt(scoreOnly)} windows/s (${fmt(scored)} scored) | | ≥ 20,000 |`);
  console.log(`| the \`influx\` client writing the same points, batches of ${fmt(INFLUX_SINK_DEFAULTS.batchMaxPoints)} | ${fmt(clientRate)} points/s = ${fmt(clientRate / pointsPerWindow)} windows/s | 1.00 (client baseline) | |`);
  for (const r of raw) {
    console.log(`| bare line protocol, one keep-alive connection, ${fmt(r.size)} points per request, ${r.gzip ? 'gzip' : 'plain'} | ${fmt(r.rate)} points/s | ${ratio(r.rate, clientRate)} × client | |`);
  }
  console.log(`| bare InfluxDB write ceiling (fastest above: ${fmt(ceiling.size)}, ${ceiling.gzip ? 'gzip' : 'plain'}) | ${fmt(ceiling.rate)} points/s = ${fmt(ceiling.rate / pointsPerWindow)} windows/s | ${ratio(ceiling.rate, clientRate)} × client | baseline |`);
  console.log(`| building line protocol alone | ${serializeUs.toFixed(1)} µs/point | | |`);
  console.log(`| decode + score + InfluxDB sink (batches of ${fmt(INFLUX_SINK_DEFAULTS.batchMaxPoints)}) | ${fmt(withSink)} windows/s = ${fmt(sinkPoints)} points/s | ${ratio(sinkPoints, clientRate)} × client | |`);
  console.log(`| decode + the processor's path per window: score, sink, alert state over InfluxAlertStore | ${fmt(withAlerts)} windows/s = ${fmt(pipelinePoints)} feature and anomaly points/s | ${ratio(pipelinePoints, clientRate)} × client | |`);
  console.log(`| ratio sink alone / bare ceiling | ${ratio(sinkPoints, ceiling.rate)} | | |`);
  console.log(`| ratio processor path (sink + alert state) / bare ceiling | ${ratio(pipelinePoints, ceiling.rate)} | | ≥ 0.80 |`);
} finally {
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
}
