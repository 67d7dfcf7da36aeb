// Optional durability: the whole state (topics, subscriptions, every unacked message with its delivery
// count) as one JSON snapshot, written atomically (temp file, fsync, rename) shortly after each change and
// on stop. Why a snapshot and not an append log: the emulator is a development and test tool whose state
// is small, acks remove messages (a log would need compaction to stay small), and a snapshot can never be
// replayed into a half-applied state. The cost: a crash loses the changes of the last debounce window; a
// clean stop loses nothing that Publish confirmed. Leases are not saved: after a restart every unacked
// message is deliverable again, as when a real server's ack deadlines expire.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Broker } from './state/broker.js';
import type { SubscriptionConfig } from './state/subscription-config.js';

const SNAPSHOT_FILE = 'pubsub-state.json';
const FORMAT_VERSION = 1;

interface SnapshotMessage {
  id: string;
  data: string; // base64
  attributes: Record<string, string>;
  orderingKey: string;
  publishTimeMs: number;
  attempts: number;
}

interface Snapshot {
  version: number;
  topics: { name: string; labels: Record<string, string> }[];
  subscriptions: { config: SubscriptionConfig; messages: SnapshotMessage[] }[];
}

export class SnapshotStore {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(
    private readonly dir: string,
    private readonly broker: Broker,
    private readonly debounceMs: number,
    private readonly log: Logger,
  ) {}

  get file(): string {
    return join(this.dir, SNAPSHOT_FILE);
  }

  /** Loads the last snapshot into the (empty) broker; a missing file is a fresh start. */
  async load(): Promise<{ topics: number; subscriptions: number; messages: number }> {
    await mkdir(this.dir, { recursive: true });
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { topics: 0, subscriptions: 0, messages: 0 };
      throw error;
    }
    const snapshot = JSON.parse(text) as Snapshot;
    if (snapshot.version !== FORMAT_VERSION) throw new Error(`${this.file}: unsupported snapshot version ${snapshot.version}`);
    for (const topic of snapshot.topics) this.broker.createTopic(topic);
    let messages = 0;
    for (const { config, messages: stored } of snapshot.subscriptions) {
      const sub = this.broker.createSubscription(config, { restoring: true });
      for (const m of stored) {
        const { attempts, data, ...rest } = m;
        this.broker.restore(sub, { ...rest, data: Buffer.from(data, 'base64') }, attempts);
        messages += 1;
      }
    }
    this.dirty = false;
    return { topics: snapshot.topics.length, subscriptions: snapshot.subscriptions.length, messages };
  }

  /** Notes a change; the snapshot follows within the debounce window. */
  changed(): void {
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, this.debounceMs);
  }

  /** Writes pending changes now (used on stop). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.save();
  }

  private save(): Promise<void> {
    // Writes are chained so two snapshots never race for the same temp file.
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await this.write(this.capture());
      } catch (error) {
        this.dirty = true;
        this.log.error({ err: error, file: this.file }, 'snapshot write failed; will retry on the next change');
      }
    });
    return this.writing;
  }

  private capture(): string {
    const snapshot: Snapshot = {
      version: FORMAT_VERSION,
      topics: [...this.broker.topics.values()].map((t) => ({ name: t.config.name, labels: t.config.labels })),
      subscriptions: [...this.broker.subscriptions.values()].map((sub) => ({
        config: sub.config,
        messages: [...sub.queue.all()].map((e) => ({
          id: e.message.id,
          data: e.message.data.toString('base64'),
          attributes: e.message.attributes,
          orderingKey: e.message.orderingKey,
          publishTimeMs: e.message.publishTimeMs,
          attempts: e.attempts,
        })),
      })),
    };
    return JSON.stringify(snapshot);
  }

  private async write(text: string): Promise<void> {
    const temp = `${this.file}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.file);
  }
}
