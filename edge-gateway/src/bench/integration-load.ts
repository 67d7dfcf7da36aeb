// Load generator for the plant-integration benchmark, in its own process so the gateway under test has
// its own core. Every mode sends the same readings: MACHINES × SENSORS sensors, each with STEPS
// readings MESSAGE_SPAN_MS apart from START_TS (10 Hz), value = a function of (machine, sensor, step).
// Usage: node dist/bench/integration-load.js PORT MODE MACHINES SENSORS STEPS START_TS
//   json-qos1     one JSON reading per message on sensors/<m>/<s>, QoS 1 (a device, or the plant
//                 broker's clients), at most MAX_IN_FLIGHT unacknowledged
//   sparkplug     a Sparkplug B edge node: NBIRTH, one DBIRTH per machine (its SENSORS metrics with
//                 aliases, null values), then per step one DDATA per machine carrying all SENSORS
//                 metrics by alias, QoS 0 (Sparkplug's data QoS)
//   sensorbatch   the same readings as protobuf SensorBatch: per sensor one message with its STEPS
//                 readings on sensors/<m>/<s>/pb, QoS 0
// Payloads are built before the clock starts, so the generator spends its time publishing.
import { createRequire } from 'node:module';
import { connectAsync } from 'mqtt';
import { SensorBatchSchema, create, toBinary } from '@pdm/proto';
import { MESSAGE_SPAN_MS } from './load-shape.js';

const [port, mode, machinesArg, sensorsArg, stepsArg, startTsArg] = process.argv.slice(2);
const machines = Number(machinesArg);
const sensors = Number(sensorsArg);
const steps = Number(stepsArg);
const startTs = Number(startTsArg);
const MAX_IN_FLIGHT = 1_000;
const GROUP = 'bench';
const NODE = 'edge-1';

const machineId = (m: number) => `bench-${m}`;
const value = (m: number, s: number, j: number) => 20 + Math.sin(m + s + j);
const ts = (j: number) => startTs + j * MESSAGE_SPAN_MS;

interface Message {
  topic: string;
  payload: Buffer;
}

function jsonMessages(): Message[] {
  const messages: Message[] = [];
  for (let j = 0; j < steps; j++)
    for (let m = 0; m < machines; m++)
      for (let s = 0; s < sensors; s++) messages.push({ topic: `sensors/${machineId(m)}/s${s}`, payload: Buffer.from(JSON.stringify({ ts: ts(j), value: value(m, s, j) })) });
  return messages;
}

function sensorBatchMessages(): Message[] {
  const messages: Message[] = [];
  for (let m = 0; m < machines; m++)
    for (let s = 0; s < sensors; s++) {
      const readings = Array.from({ length: steps }, (_, j) => ({ ts: BigInt(ts(j)), value: value(m, s, j) }));
      const batch = create(SensorBatchSchema, { body: { case: 'readings', value: { readings } } });
      messages.push({ topic: `sensors/${machineId(m)}/s${s}/pb`, payload: Buffer.from(toBinary(SensorBatchSchema, batch)) });
    }
  return messages;
}

/** Eclipse Tahu's encoder: another implementation than the gateway's reader. */
const tahu = (createRequire(import.meta.url)('sparkplug-payload') as { get(v: string): { encodePayload(p: object): Uint8Array } }).get('spBv1.0');

function sparkplugMessages(): { births: Message[]; data: Message[] } {
  let seq = 0;
  const next = () => {
    const current = seq;
    seq = (seq + 1) % 256;
    return current;
  };
  const payload = (p: object) => Buffer.from(tahu.encodePayload(p));
  const births: Message[] = [
    { topic: `spBv1.0/${GROUP}/NBIRTH/${NODE}`, payload: payload({ timestamp: startTs, seq: next(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: 0 }] }) },
  ];
  // Metric s of every device has alias s + 1; births carry no values, so only DDATA make readings.
  for (let m = 0; m < machines; m++) {
    const metrics = Array.from({ length: sensors }, (_, s) => ({ name: `s${s}`, alias: s + 1, type: 'Double', isNull: true }));
    births.push({ topic: `spBv1.0/${GROUP}/DBIRTH/${NODE}/${machineId(m)}`, payload: payload({ timestamp: startTs, seq: next(), metrics }) });
  }
  const data: Message[] = [];
  for (let j = 0; j < steps; j++)
    for (let m = 0; m < machines; m++) {
      const metrics = Array.from({ length: sensors }, (_, s) => ({ alias: s + 1, timestamp: ts(j), type: 'Double', value: value(m, s, j) }));
      data.push({ topic: `spBv1.0/${GROUP}/DDATA/${NODE}/${machineId(m)}`, payload: payload({ timestamp: ts(j), seq: next(), metrics }) });
    }
  return { births, data };
}

const { births, data } =
  mode === 'sparkplug' ? sparkplugMessages() : { births: [], data: mode === 'json-qos1' ? jsonMessages() : mode === 'sensorbatch' ? sensorBatchMessages() : [] };
if (data.length === 0) throw new Error(`unknown mode ${mode}`);
const qos = mode === 'json-qos1' ? 1 : 0;

const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, queueQoSZero: false, clientId: `bench-${mode}-${process.pid}` });
const stream = (client as unknown as { stream: NodeJS.WritableStream & { writableNeedDrain: boolean } }).stream;
// Births at QoS 1, acknowledged before any data: the gateway must know the aliases first.
await Promise.all(births.map((birth) => client.publishAsync(birth.topic, birth.payload, { qos: 1 })));

let inFlight = 0;
let wake: (() => void) | undefined;
const acked = () => {
  inFlight--;
  wake?.();
};
const started = performance.now();
for (const message of data) {
  if (qos === 1) {
    inFlight++;
    client.publish(message.topic, message.payload, { qos: 1 }, acked);
    while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => (wake = resolve));
  } else {
    client.publish(message.topic, message.payload, { qos: 0 });
  }
  // Respect TCP back-pressure instead of buffering the whole run in memory.
  if (stream.writableNeedDrain) await new Promise((resolve) => stream.once('drain', resolve));
}
while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
await client.endAsync();
process.send?.({ sent: data.length, seconds: (performance.now() - started) / 1000 });
