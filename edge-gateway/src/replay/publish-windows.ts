// `pdm replay --publish`: the replayed windows go to Pub/Sub as a gateway with the same
// pubsub.featureBatches would send them — pdm.v1.FeatureBatch messages of one shard's windows
// (ordering key "<gateway>:<shard>", at most maxBytes each: the default), or one
// pdm.v1.MachineWindow per message (ordering key = machine id) for processors that predate batches.
// The messages are built by the gateway's own formats (publisher/feature-messages.ts). A replay runs
// far faster than real time, so a shard's windows are held until they fill a batch, and the rest are
// sent by flush() at the end. Each ordering key is kept under the gateway's pubsub.keyMaxBytesPerSecond,
// as the gateway's publisher keeps it (key-rate.ts): Pub/Sub takes at most 1 MB/s per ordering key, and
// a replay of days of windows would otherwise send a shard's batches as fast as the link allows.
import type { Topic } from '@google-cloud/pubsub';
import { sleep, systemClock, type Clock } from '@pdm/clock';
import { encodeMachineWindow, featureBatchWindowSize, type MachineWindow, type MessageSource } from '@pdm/proto';
import type { OutboxEntry } from '../outbox/index.js';
import { batchHeaderBytes, featureBatchMessages, singleWindowMessages, type FeatureBatchOptions, type FeatureMessageFormat } from '../publisher/index.js';
import { KeyRateLimiter } from '../publisher/key-rate.js';

export interface ReplayPublishOptions extends FeatureBatchOptions {
  /** As pubsub.featureBatches.enabled: batches, or one window per message. */
  enabled: boolean;
  /** As pubsub.keyMaxBytesPerSecond: the most one ordering key is sent a second. */
  keyMaxBytesPerSecond: number;
}

export class ReplayPublisher {
  private readonly format: FeatureMessageFormat;
  /** Windows held per ordering key (batches only), in replay order, the bytes of their batch and of its header alone. */
  private readonly held = new Map<string, { entries: OutboxEntry[]; bytes: number; header: number }>();
  private readonly rate: KeyRateLimiter;
  private published = 0;

  constructor(
    private readonly topic: Pick<Topic, 'publishMessage'>,
    private readonly source: MessageSource,
    private readonly options: ReplayPublishOptions,
    private readonly clock: Clock = systemClock,
  ) {
    this.format = options.enabled ? featureBatchMessages(source, options) : singleWindowMessages(source);
    this.rate = new KeyRateLimiter(options.keyMaxBytesPerSecond);
  }

  /** Messages published so far. */
  get messages(): number {
    return this.published;
  }

  /** Publishes the window, or holds it until its shard's batch is full; resolves once what was published is confirmed. */
  async add(window: MachineWindow): Promise<void> {
    const payload = encodeMachineWindow(window);
    const entry: OutboxEntry = {
      seq: 0,
      createdAt: 0,
      machineId: window.machineId,
      windowStart: Number(window.windowStart),
      featureVersion: window.featureVersion,
      revision: window.revision,
      payload,
    };
    if (!this.options.enabled) return this.publish([entry]);
    const key = this.format.keyOf(entry);
    let held = this.held.get(key);
    if (held === undefined) {
      const header = batchHeaderBytes(this.source, this.options.shards, entry.machineId);
      held = { entries: [], bytes: header, header };
      this.held.set(key, held);
    }
    const size = featureBatchWindowSize(payload.byteLength);
    if (held.entries.length > 0 && held.bytes + size > this.options.maxBytes) {
      const full = held.entries.splice(0);
      held.bytes = held.header;
      await this.publish(full);
    }
    held.entries.push(entry);
    held.bytes += size;
  }

  /** Publishes every window still held; resolves once Pub/Sub confirmed them. */
  async flush(): Promise<void> {
    const rest = [...this.held.values()].filter((held) => held.entries.length > 0);
    this.held.clear();
    await Promise.all(rest.map((held) => this.publish(held.entries)));
  }

  private async publish(entries: OutboxEntry[]): Promise<void> {
    for (const message of this.format.messages(entries)) {
      const orderingKey = this.format.keyOf(message.entries[0] as OutboxEntry);
      const bytes = message.data.byteLength;
      for (let wait = this.rate.waitMs(orderingKey, bytes, this.clock.now()); wait > 0; wait = this.rate.waitMs(orderingKey, bytes, this.clock.now())) {
        await sleep(this.clock, wait);
      }
      this.rate.spend(orderingKey, bytes, this.clock.now());
      await this.topic.publishMessage({ data: Buffer.from(message.data), attributes: message.attributes, orderingKey });
      this.published++;
    }
  }
}
