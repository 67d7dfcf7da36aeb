// Processor benchmark, all figures from one run on this machine:
//   1. machine-windows/s decoded (protobuf) and scored (batched TF.js) by one process, no sink;
//   2. the same with the real InfluxDB sink, as a ratio to the bare InfluxDB write ceiling: the
//      same points written directly with the `influx` client (InfluxDB, not our code, should limit).
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

const MACHINES = 1_000;
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

async function scoreAll(payloads: Uint8Array[], score: (w: MachineWindow) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  const chunk = 2_048;
  for (let i = 0; i < payloads.length; i += chunk) {
    await Promise.all(payloads.slice(i, i + chunk).map((bytes) => score(decodeMachineWindow(bytes))));
  }
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

  // Bare InfluxDB ceiling: the very points the sink writes, batched by the `influx` client.
  const outcomes: ScoreOutcome[] = await Promise.all(windows.map((w) => scorer.score(w)));
  const points = windows.flatMap((w, i) => {
    const outcome = outcomes[i]!;
    return [...featurePoints(w).points, ...(outcome.kind === 'scored' ? anomalyPoint(outcome.score).points : [])];
  });
  const bareDb = uniqueDatabaseName('bench_bare');
  await influx.createDatabase(bareDb);
  const client = new InfluxDB({ host: influx.host, port: influx.port, database: bareDb });
  const bareStarted = performance.now();
  for (let i = 0; i < points.length; i += INFLUX_SINK_DEFAULTS.batchMaxPoints) {
    await client.writePoints(points.slice(i, i + INFLUX_SINK_DEFAULTS.batchMaxPoints), { precision: 'ms' });
  }
  const bareSeconds = (performance.now() - bareStarted) / 1000;
  const ceilingWindows = windows.length / bareSeconds;

  // 2. Decode + score + the real sink (writes awaited, as the transport awaits them before acking).
  const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: uniqueDatabaseName('bench_sink') });
  await sink.start();
  const withSink = await scoreAll(payloads, async (w) => {
    const outcome = await scorer.score(w);
    await sink.writeScoredWindow(w, outcome.kind === 'scored' ? outcome.score : undefined);
  });
  await sink.flush();
  await scorer.close();

  console.log(`processor benchmark: ${fmt(windows.length)} machine-windows (${MACHINES} machines × ${WINDOWS_PER_MACHINE}), ${SENSORS.length} sensors each, TF.js backend ${backend}`);
  console.log('');
  console.log('| figure | value | target |');
  console.log('|---|---|---|');
  console.log(`| decode + score, no sink | ${fmt(scoreOnly)} windows/s (${fmt(scored)} scored) | ≥ 20,000 |`);
  console.log(`| bare InfluxDB write ceiling, same points via the influx client | ${fmt(points.length / bareSeconds)} points/s = ${fmt(ceilingWindows)} windows/s | baseline |`);
  console.log(`| decode + score + InfluxDB sink | ${fmt(withSink)} windows/s | |`);
  console.log(`| ratio sink / bare ceiling | ${(withSink / ceilingWindows).toFixed(2)} | ≥ 0.70 |`);
} finally {
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
}
