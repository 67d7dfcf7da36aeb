// Hand-written codecs vs @bufbuild/protobuf's toBinary/fromBinary on the hot messages, in the same run
// (the machines are shared and noisy, so only the ratio carries over between runs): encode and decode of
// a MachineWindow with 8 sensors and of a FeatureBatch of 100 such windows (a 1,000-machine boundary in
// 10 shards), decode of a SensorBatch block of 100 doubles and of 100 readings.
//
// Run (from proto/): npm run build && npm run bench. Best of 5 rounds of ~150 ms per codec and case,
// the two codecs alternating; about 10 s in all.
import { cpus } from 'node:os';
import {
  CloseReason,
  FeatureBatchSchema,
  MachineWindowSchema,
  SensorBatchSchema,
  create,
  decodeFeatureBatch,
  decodeMachineWindow,
  decodeSensorBatch,
  encodeFeatureBatch,
  encodeMachineWindow,
  fromBinary,
  toBinary,
} from '../index.js';

const ROUNDS = 5;
const ROUND_MS = 150;
const T0 = 1_764_000_000_000n;

const window = create(MachineWindowSchema, {
  gatewayId: 'gw-plant-a-01',
  siteId: 'plant-a',
  machineId: 'pump-0042',
  windowStart: T0,
  windowEnd: T0 + 10_000n,
  featureVersion: 1,
  revision: 0,
  closeReason: CloseReason.WATERMARK,
  closedAt: T0 + 10_250n,
  sensors: Array.from({ length: 8 }, (_, i) => ({
    sensorId: `sensor-${i}`,
    count: 1000,
    expectedCount: 1000,
    mean: 50 + i * 0.731,
    variance: 4.0e-4 * (i + 1),
    std: 0.02 * Math.sqrt(i + 1),
    min: 49.93 + i,
    max: 50.08 + i,
    rms: 50.0001 + i,
    peakToPeak: 0.15,
    skewness: -0.1 + i * 0.01,
    kurtosis: 3.2,
    crestFactor: 1.0016,
    lateCount: i % 3,
  })),
});
const featureBatch = create(FeatureBatchSchema, {
  gatewayId: window.gatewayId,
  siteId: window.siteId,
  shard: 3,
  windows: Array.from({ length: 100 }, (_, i) => ({ ...window, machineId: `pump-${String(i).padStart(4, '0')}` })),
});
const blockBatch = create(SensorBatchSchema, {
  body: { case: 'block', value: { startTs: T0, hz: 1000, values: Array.from({ length: 100 }, (_, i) => Math.sin(i / 7) * 10 + 50) } },
});
const readingsBatch = create(SensorBatchSchema, {
  body: { case: 'readings', value: { readings: Array.from({ length: 100 }, (_, i) => ({ ts: T0 + BigInt(i * 10), value: Math.cos(i / 5) * 3 + 20 })) } },
});

const windowBytes = toBinary(MachineWindowSchema, window);
const featureBatchBytes = toBinary(FeatureBatchSchema, featureBatch);
const blockBytes = toBinary(SensorBatchSchema, blockBatch);
const readingsBytes = toBinary(SensorBatchSchema, readingsBatch);

// Measure only codecs that give @bufbuild's results.
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
if (
  !sameBytes(encodeMachineWindow(window), windowBytes) ||
  !sameBytes(toBinary(MachineWindowSchema, decodeMachineWindow(windowBytes)), windowBytes) ||
  !sameBytes(encodeFeatureBatch(featureBatch), featureBatchBytes) ||
  !sameBytes(toBinary(FeatureBatchSchema, decodeFeatureBatch(featureBatchBytes)), featureBatchBytes) ||
  !sameBytes(toBinary(SensorBatchSchema, decodeSensorBatch(blockBytes)), blockBytes) ||
  !sameBytes(toBinary(SensorBatchSchema, decodeSensorBatch(readingsBytes)), readingsBytes)
) {
  throw new Error('the fast codecs disagree with @bufbuild/protobuf on the benchmark messages');
}

// Every result feeds this, so that no call can be optimised away.
let sink = 0;

interface Case {
  name: string;
  target: string;
  bufbuild: () => number;
  fast: () => number;
}

const cases: Case[] = [
  {
    name: `encode MachineWindow, 8 sensors (${windowBytes.length} B)`,
    target: '≤ 10 µs',
    bufbuild: () => toBinary(MachineWindowSchema, window).length,
    fast: () => encodeMachineWindow(window).length,
  },
  {
    name: 'decode MachineWindow, 8 sensors',
    target: '≤ 10 µs',
    bufbuild: () => fromBinary(MachineWindowSchema, windowBytes, { readUnknownFields: false }).sensors.length,
    fast: () => decodeMachineWindow(windowBytes).sensors.length,
  },
  {
    name: `encode FeatureBatch, 100 windows (${featureBatchBytes.length} B)`,
    target: '',
    bufbuild: () => toBinary(FeatureBatchSchema, featureBatch).length,
    fast: () => encodeFeatureBatch(featureBatch).length,
  },
  {
    name: 'decode FeatureBatch, 100 windows',
    target: '',
    bufbuild: () => fromBinary(FeatureBatchSchema, featureBatchBytes, { readUnknownFields: false }).windows.length,
    fast: () => decodeFeatureBatch(featureBatchBytes).windows.length,
  },
  {
    name: `decode SensorBatch block, 100 doubles (${blockBytes.length} B)`,
    target: '≤ 5 µs',
    bufbuild: () => (fromBinary(SensorBatchSchema, blockBytes, { readUnknownFields: false }).body.case === 'block' ? 1 : 0),
    fast: () => (decodeSensorBatch(blockBytes).body.case === 'block' ? 1 : 0),
  },
  {
    name: `decode SensorBatch readings, 100 readings (${readingsBytes.length} B)`,
    target: '',
    bufbuild: () => (fromBinary(SensorBatchSchema, readingsBytes, { readUnknownFields: false }).body.case === 'readings' ? 1 : 0),
    fast: () => (decodeSensorBatch(readingsBytes).body.case === 'readings' ? 1 : 0),
  },
];

/** Calls `op` until ROUND_MS have passed; returns µs per call. */
function round(op: () => number): number {
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ROUND_MS) {
    for (let i = 0; i < 100; i++) sink += op();
    calls += 100;
    elapsed = performance.now() - start;
  }
  return (elapsed * 1000) / calls;
}

function bestOf(op: () => number, other: () => number): [number, number] {
  let best = Infinity;
  let bestOther = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    best = Math.min(best, round(op));
    bestOther = Math.min(bestOther, round(other));
  }
  return [best, bestOther];
}

console.log(`codec benchmark on ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`);
console.log(`best of ${ROUNDS} rounds of ${ROUND_MS} ms each, @bufbuild/protobuf (baseline) and the hand-written codecs alternating\n`);
console.log('| operation | @bufbuild µs | fast µs | speed-up | target |');
console.log('|---|---|---|---|---|');
for (const c of cases) {
  const [bufbuild, fast] = bestOf(c.bufbuild, c.fast);
  console.log(`| ${c.name} | ${bufbuild.toFixed(2)} | ${fast.toFixed(2)} | ${(bufbuild / fast).toFixed(1)}× | ${c.target} |`);
}
if (sink === 0) throw new Error('the benchmark did no work');
