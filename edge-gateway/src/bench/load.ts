// Load generator for the gateway benchmark, in its own process so the broker under test has its
// own core: publishes QoS0 readings as fast as the socket takes them.
// Usage: node dist/bench/load.js PORT single|batch|batch-pb MESSAGES MACHINES SENSORS START_TS
//
// Event time follows each sensor's sample rate, as a real device's does: sensor k's j-th message is
// stamped START_TS + j × 100 ms (one 10 Hz reading, or a block of 100 samples at 1 kHz), and the
// sensors take turns. So windows close at the rate a real fleet closes them (one per machine per
// 10 s of event time), the same in every run, wherever the wall clock happens to fall.
import { connectAsync } from 'mqtt';
import { SensorBatchSchema, create, toBinary } from '@pdm/proto';
import { BLOCK_HZ, BLOCK_SAMPLES, MESSAGE_SPAN_MS } from './load-shape.js';

const [port, mode, messagesArg, machinesArg, sensorsArg, startTsArg] = process.argv.slice(2);
const messages = Number(messagesArg);
const machines = Number(machinesArg);
const sensors = Number(sensorsArg);
const startTs = Number(startTsArg);

const topics: string[] = [];
const suffix = mode === 'batch-pb' ? '/pb' : '';
for (let m = 0; m < machines; m++) for (let s = 0; s < sensors; s++) topics.push(`sensors/bench-${m}/s${s}${suffix}`);

// Payloads are built up front (one per turn: every sensor sends the same bytes in turn j) so the
// generator spends its time publishing, not formatting.
const payloads: Buffer[] = [];
for (let j = 0; j < Math.ceil(messages / topics.length); j++) {
  const ts = startTs + j * MESSAGE_SPAN_MS;
  const values = Array.from({ length: BLOCK_SAMPLES }, (_, k) => Math.sin(k + j) * 0.01);
  if (mode === 'batch-pb') {
    const batch = create(SensorBatchSchema, { body: { case: 'block', value: { startTs: BigInt(ts), hz: BLOCK_HZ, values } } });
    payloads.push(Buffer.from(toBinary(SensorBatchSchema, batch)));
    continue;
  }
  const body = mode === 'batch' ? { ts, hz: BLOCK_HZ, values } : { ts, value: 20 + Math.sin(j) };
  payloads.push(Buffer.from(JSON.stringify(body)));
}

const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, queueQoSZero: false });
const stream = (client as unknown as { stream: NodeJS.WritableStream & { writableNeedDrain: boolean } }).stream;
// The benchmark's clock starts here, not at this process's start: node booting, the imports, the
// payloads and the connection take the same few hundred ms before every run and are no broker's work.
process.send?.({ publishing: true });
const started = performance.now();
for (let i = 0; i < messages; i++) {
  client.publish(topics[i % topics.length]!, payloads[Math.floor(i / topics.length)]!, { qos: 0 });
  // Respect TCP back-pressure instead of buffering the whole run in memory.
  if (stream.writableNeedDrain) await new Promise((resolve) => stream.once('drain', resolve));
}
await client.endAsync();
process.send?.({ sent: messages, seconds: (performance.now() - started) / 1000 });
