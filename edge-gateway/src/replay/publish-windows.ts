// `pdm replay --publish`: the replayed windows go to Pub/Sub as a gateway with the same
// pubsub.featureBatches would send them — pdm.v1.FeatureBatch messages of one shard's windows
// (ordering key "<gateway>:<shard>", at most maxBytes of windows each: the default), or one
// pdm.v1.MachineWindow per message (ordering key = machine id) for processors that predate batches.
// The messages are built by the gateway's own formats (publisher/feature-messages.ts). A replay runs
// far faster than real time, so a shard's windows are held until they fill a batch, and the rest are
// sent by flush() at the end.
import type { Topic } from '@google-cloud/pubsub';
import { encodeMachineWindow, type MachineWindow, type MessageSource } from '@pdm/proto';
import type { OutboxEntry } from '../outbox/index.js';
import { featureBatchMessages, singleWindowMessages, type FeatureBatchOptions, type FeatureMessageFormat } from '../publisher/index.js';

export interface ReplayPublishOptions extends FeatureBatchOptions {
  /** As pubsub.featureBatches.enabled: batches, or one window per message. */
  enabled: boolean;
}

export class ReplayPublisher {
  private readonly format: FeatureMessageFormat;
  /** Windows held per ordering key (batches only), in replay order, and their bytes. */
  private readonly held = new Map<string, { entries: OutboxEntry[]; bytes: number }>();
  private published = 0;

  constructor(
    private readonly topic: Pick<Topic, 'publishMessage'>,
    source: MessageSource,
    private readonly options: ReplayPublishOptions,
  ) {
    this.format = options.enabled ? featureBatchMessages(source, options) : singleWindowMessages(source);
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
    const held = this.held.get(key) ?? { entries: [], bytes: 0 };
    this.held.set(key, held);
    if (held.entries.length > 0 && held.bytes + payload.byteLength > this.options.maxBytes) {
      const full = held.entries.splice(0);
      held.bytes = 0;
      await this.publish(full);
    }
    held.entries.push(entry);
    held.bytes += payload.byteLength;
  }

  /** Publishes every window still held; resolves once Pub/Sub confirmed them. */
  async flush(): Promise<void> {
    const rest = [...this.held.values()].filter((held) => held.entries.length > 0);
    this.held.clear();
    await Promise.all(rest.map((held) => this.publish(held.entries)));
  }

  private async publish(entries: OutboxEntry[]): Promise<void> {
    for (const message of this.format.messages(entries)) {
      await this.topic.publishMessage({ data: Buffer.from(message.data), attributes: message.attributes, orderingKey: this.format.keyOf(message.entries[0] as OutboxEntry) });
      this.published++;
    }
  }
}
