// Shared test plumbing: an emulator on a free port with a ManualClock and silent logs, official clients
// pointed at it, unique resource names, and a message collector that waits for real deliveries with a
// bounded timeout (never for time to pass: time is the ManualClock's job).
import { PubSub, type Message, type Subscription, type SubscriberOptions } from '@google-cloud/pubsub';
import { pino } from 'pino';
import { ManualClock } from '../clock.js';
import { start, type EmulatorOptions, type RunningEmulator } from '../server.js';

export const PROJECT = 'pdm-test';

// The client's auth library otherwise probes for a GCE metadata server on every client it creates.
process.env['METADATA_SERVER_DETECTION'] ??= 'none';

export interface TestEmulator {
  emulator: RunningEmulator;
  clock: ManualClock;
  clients: PubSub[];
  client(): PubSub;
  close(): Promise<void>;
}

export async function startTestEmulator(options: EmulatorOptions = {}): Promise<TestEmulator> {
  const clock = new ManualClock();
  const emulator = await start({ port: 0, adminPort: 0, clock, logger: pino({ level: 'silent' }), statsLogIntervalMs: 0, ...options });
  const clients: PubSub[] = [];
  return {
    emulator,
    clock,
    clients,
    client() {
      const pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.endpoint, emulatorMode: true });
      clients.push(pubsub);
      return pubsub;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await emulator.stop();
    },
  };
}

/** Deletes a subscription of the emulator at `endpoint` (one another process started) with the official client. */
export async function deleteSubscription(endpoint: string, projectId: string, subscription: string): Promise<void> {
  const pubsub = new PubSub({ projectId, apiEndpoint: endpoint, emulatorMode: true });
  try {
    await pubsub.subscription(subscription).delete();
  } finally {
    await pubsub.close();
  }
}

let counter = 0;
export const uniqueId = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

/** Small subscriber settings so tests see server behaviour, not client batching. */
export const ONE_STREAM: SubscriberOptions = { streamingOptions: { maxStreams: 1 }, batching: { maxMessages: 1, maxMilliseconds: 1 } };

/** Collects messages from a subscription; optionally acks them. */
export class Collector {
  readonly messages: Message[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(
    readonly subscription: Subscription,
    private readonly onMessage: (m: Message) => void = (m) => m.ack(),
  ) {
    subscription.on('message', (m: Message) => {
      this.messages.push(m);
      this.onMessage(m);
      this.waiters = this.waiters.filter((w) => (this.messages.length >= w.count ? (w.resolve(), false) : true));
    });
    subscription.on('error', () => {}); // surfaced through timeouts; the emulator's own counters explain
  }

  /** Resolves once at least `count` messages arrived; rejects after timeoutMs of real time. */
  async waitFor(count: number, timeoutMs = 5_000): Promise<Message[]> {
    if (this.messages.length >= count) return this.messages;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${count} messages, got ${this.messages.length} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
    });
    return this.messages;
  }

  data(): string[] {
    return this.messages.map((m) => m.data.toString());
  }
}

/** Polls a condition on the emulator's state (e.g. stats) until it holds; bounded by timeoutMs. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
