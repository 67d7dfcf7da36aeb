// Throughput of publish → StreamingPull → ack with the official client against the emulator running in
// its own process (as in real use, and so client and server each get a core). Prints messages/s for
// publish alone (the baseline, same run) and for the full publish-receive-ack path, and their ratio.
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
  } finally {
    await pubsub.close();
    await emulator.stop();
  }
}

await main();
