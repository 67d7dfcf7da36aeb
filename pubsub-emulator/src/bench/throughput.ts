// Throughput of publish → StreamingPull → ack with the official client against the emulator running in
// its own process (as in real use, and so client and server each get a core). Prints messages/s for
// publish alone (the baseline, same run) and for the full publish-receive-ack path, and their ratio.
// Then the cost of ordering keys on a burst — what a gateway sends when every machine's window closes
// at once: the same messages on one ordering key each (Pub/Sub takes one key per Publish request, so
// one request per message) against no keys (batched), time until all are confirmed.
// Bounded: --messages (default 100k) and a 30 s cap per phase.
//   npm run build && npm run bench [-- --messages 50000]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PubSub, type Message, type Topic } from '@google-cloud/pubsub';

process.env['METADATA_SERVER_DETECTION'] ??= 'none';

const BENCH_DEFAULTS = {
  messages: 100_000,
  messageBytes: 1024,
  /** Publishes in flight at once: enough to fill the client's batches without unbounded memory. */
  window: 10_000,
  phaseTimeoutMs: 30_000,
  /** Machines whose windows close together in the burst phase; best of `burstRounds`. */
  burstMessages: 1_000,
  burstRounds: 5,
  burstMessageBytes: 800,
};

async function startEmulatorProcess(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const bin = fileURLToPath(new URL('../bin.js', import.meta.url));
  const child = spawn(process.execPath, [bin, '--port', '0', '--admin-port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /PUBSUB_EMULATOR_HOST=(\S+)/.exec(text);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function publishAll(topic: Topic, count: number, payload: Buffer, deadline: number): Promise<number> {
  let sent = 0;
  while (sent < count && Date.now() < deadline) {
    const batch = Math.min(BENCH_DEFAULTS.window, count - sent);
    await Promise.all(Array.from({ length: batch }, () => topic.publishMessage({ data: payload })));
    sent += batch;
  }
  return sent;
}

const rate = (count: number, ms: number) => Math.round((count / ms) * 1000);

/** Best time (ms) to have `burstMessages` confirmed, each on its own ordering key or on none. */
async function burstMs(topic: Topic, keyed: boolean): Promise<number> {
  const payload = Buffer.alloc(BENCH_DEFAULTS.burstMessageBytes, 3);
  let best = Infinity;
  for (let round = 0; round < BENCH_DEFAULTS.burstRounds; round++) {
    const started = performance.now();
    await Promise.all(Array.from({ length: BENCH_DEFAULTS.burstMessages }, (_, i) => topic.publishMessage({ data: payload, orderingKey: keyed ? `machine-${i}` : undefined })));
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: 'string' } } });
  const count = Number(values.messages ?? BENCH_DEFAULTS.messages);
  const payload = Buffer.alloc(BENCH_DEFAULTS.messageBytes, 7);
  const emulator = await startEmulatorProcess();
  const pubsub = new PubSub({ projectId: 'bench', apiEndpoint: emulator.endpoint, emulatorMode: true });
  try {
    const batching = { maxMessages: 1000, maxMilliseconds: 5, maxBytes: 9 * 1024 * 1024 };
    // Baseline: publish only (no subscription, so the server stores nothing).
    const [baselineTopic] = await pubsub.createTopic('baseline');
    let started = performance.now();
    const published = await publishAll(pubsub.topic(baselineTopic.name, { batching }), count, payload, Date.now() + BENCH_DEFAULTS.phaseTimeoutMs);
    const publishRate = rate(published, performance.now() - started);

    // Full path: publish, receive over StreamingPull, ack.
    const [topic] = await pubsub.createTopic('throughput');
    const [sub] = await topic.createSubscription('throughput-sub');
    let received = 0;
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const subscriber = pubsub.subscription(sub.name, { flowControl: { maxMessages: 5000, allowExcessMessages: false }, streamingOptions: { maxStreams: 2 } });
    subscriber.on('message', (m: Message) => {
      m.ack();
      if (++received === count) resolveDone();
    });
    subscriber.on('error', (e) => console.error('subscriber error', e));
    started = performance.now();
    const sentEndToEnd = await publishAll(pubsub.topic(topic.name, { batching }), count, payload, Date.now() + BENCH_DEFAULTS.phaseTimeoutMs);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, BENCH_DEFAULTS.phaseTimeoutMs).unref());
    await Promise.race([done, timeout]);
    const endToEndMs = performance.now() - started;
    await subscriber.close(); // flushes the pending acks
    const endToEndRate = rate(received, endToEndMs);

    console.log(`messages: ${count} x ${BENCH_DEFAULTS.messageBytes} B, emulator in its own process`);
    console.log(`publish only (baseline):        ${publishRate} msg/s (${published} messages)`);
    console.log(`publish → receive → ack:        ${endToEndRate} msg/s (${received}/${sentEndToEnd} received)`);
    console.log(`ratio end-to-end / publish-only: ${(endToEndRate / publishRate).toFixed(2)}`);

    // Gateway-like settings: ordering on, small batches, 10 ms batching delay.
    const gatewayBatching = { maxMessages: 100, maxMilliseconds: 10 };
    const [burstTopic] = await pubsub.createTopic('burst');
    const unkeyed = await burstMs(pubsub.topic(burstTopic.name, { batching: gatewayBatching }), false);
    const keyed = await burstMs(pubsub.topic(burstTopic.name, { batching: gatewayBatching, messageOrdering: true }), true);
    console.log('');
    console.log(`burst of ${BENCH_DEFAULTS.burstMessages} messages (one window per machine), time until all are confirmed, best of ${BENCH_DEFAULTS.burstRounds}:`);
    console.log(`  no ordering keys (baseline):   ${unkeyed.toFixed(0)} ms`);
    console.log(`  one ordering key per message:  ${keyed.toFixed(0)} ms  (${(keyed / unkeyed).toFixed(1)} × baseline)`);
  } finally {
    await pubsub.close();
    await emulator.stop();
  }
}

await main();
