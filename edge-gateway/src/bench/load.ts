// Load generator for the gateway benchmark, in its own process so the broker under test has its
// own core: publishes QoS0 readings as fast as the socket takes them.
// Usage: node dist/bench/load.js PORT single|batch|batch-pb MESSAGES MACHINES SENSORS
import { connectAsync } from 'mqtt';
import { SensorBatchSchema, create, toBinary } from '@pdm/proto';

const [port, mode, messagesArg, machinesArg, sensorsArg] = process.argv.slice(2);
const messages = Number(messagesArg);
const machines = Number(machinesArg);
const sensors = Number(sensorsArg);

const topics: string[] = [];
const suffix = mode === 'batch-pb' ? '/pb' : '';
for (let m = 0; m < machines; m++) for (let s = 0; s < sensors; s++) topics.push(`sensors/bench-${m}/s${s}${suffix}`);

// Payloads are built up front so the generator spends its time publishing, not formatting.
const now = Date.now();
const payloads: Buffer[] = [];
for (let i = 0; i < 64; i++) {
  const values = Array.from({ length: 100 }, (_, k) => Math.sin(k + i) * 0.01);
  if (mode === 'batch-pb') {
    const batch = create(SensorBatchSchema, { body: { case: 'block', value: { startTs: BigInt(now - 5_000 + i), hz: 1000, values } } });
    payloads.push(Buffer.from(toBinary(SensorBatchSchema, batch)));
    continue;
  }
  const body = mode === 'batch' ? { ts: now - 5_000 + i, hz: 1000, values } : { ts: now - 5_000 + i, value: 20 + Math.sin(i) };
  payloads.push(Buffer.from(JSON.stringify(body)));
}

const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, queueQoSZero: false });
const stream = (client as unknown as { stream: NodeJS.WritableStream & { writableNeedDrain: boolean } }).stream;
const started = performance.now();
for (let i = 0; i < messages; i++) {
  client.publish(topics[i % topics.length]!, payloads[i % payloads.length]!, { qos: 0 });
  // Respect TCP back-pressure instead of buffering the whole run in memory.
  if (stream.writableNeedDrain) await new Promise((resolve) => stream.once('drain', resolve));
}
await client.endAsync();
process.send?.({ sent: messages, seconds: (performance.now() - started) / 1000 });
