// The NestJS Pub/Sub client, in the shape of Nest's ClientMqtt: connect() caches one connection
// promise (checking the topic exists), dispatchEvent() resolves with the message id once Pub/Sub
// confirmed the publish, unwrap() throws before connect(). Events only: Pub/Sub has no replies.
import { PubSub, type Topic } from '@google-cloud/pubsub';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { PUBSUB_ATTRIBUTES } from '@pdm/proto';
import type { PubSubClientOptions } from './options.js';
import { PubSubRecord } from './pubsub-record.js';
import { PubSubStatus } from './pubsub-server.js';

export class PubSubClient extends ClientProxy<Record<never, never>, PubSubStatus> {
  private pubsub: PubSub | undefined;
  private topic: Topic | undefined;
  private connection: Promise<Topic> | undefined;

  constructor(private readonly options: PubSubClientOptions) {
    super();
  }

  connect(): Promise<Topic> {
    this.connection ??= this.openTopic().catch((error: unknown) => {
      // Do not cache a failed attempt: the next emit tries again.
      this.connection = undefined;
      throw error;
    });
    return this.connection;
  }

  private async openTopic(): Promise<Topic> {
    const pubsub = (this.pubsub ??= new PubSub(this.options.client));
    const topic = pubsub.topic(this.options.topic, {
      messageOrdering: true,
      gaxOpts: this.options.publishTimeoutMs ? { timeout: this.options.publishTimeoutMs } : undefined,
    });
    const [exists] = await topic.exists();
    if (!exists) throw new Error(`Pub/Sub topic "${this.options.topic}" does not exist`);
    this.topic = topic;
    this._status$.next(PubSubStatus.CONNECTED);
    return topic;
  }

  protected async dispatchEvent<T = string>(packet: ReadPacket): Promise<T> {
    const topic = await this.connect();
    const record = packet.data instanceof PubSubRecord ? packet.data : new PubSubRecord(Buffer.from(JSON.stringify(packet.data)));
    const schema = typeof packet.pattern === 'string' ? packet.pattern : JSON.stringify(packet.pattern);
    const { orderingKey, attributes } = record.options;
    try {
      return (await topic.publishMessage({
        data: Buffer.from(record.data),
        attributes: { ...attributes, [PUBSUB_ATTRIBUTES.schema]: schema },
        ...(orderingKey ? { orderingKey } : {}),
      })) as T;
    } catch (error) {
      // A failed ordered publish pauses its key; resume so later events of that key are not stuck.
      if (orderingKey) topic.resumePublishing(orderingKey);
      throw error;
    }
  }

  protected publish(_packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({ err: new Error('PubSubClient supports events only (emit); Pub/Sub has no request-response'), isDisposed: true });
    return () => {};
  }

  unwrap<T>(): T {
    if (!this.pubsub || !this.topic) throw new Error('Not initialized. Please call the "connect" method first.');
    return this.pubsub as T;
  }

  async close(): Promise<void> {
    const pubsub = this.pubsub;
    this.pubsub = undefined;
    this.topic = undefined;
    this.connection = undefined;
    if (pubsub) await pubsub.close();
    this._status$.next(PubSubStatus.CLOSED);
  }
}
