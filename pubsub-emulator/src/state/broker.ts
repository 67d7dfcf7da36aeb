// The in-memory Pub/Sub: topics, subscriptions, fan-out of published messages, acks, nacks, deadline
// expiry and dead-lettering. Transport-free: the gRPC handlers and the delivery scheduler drive it.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { EMULATOR_DEFAULTS } from '../defaults.js';
import { alreadyExists, invalidArgument, notFound } from '../errors.js';
import type { WireTopic } from '../grpc/wire.js';
import { DELETED_TOPIC, parseSubscriptionName, parseTopicName } from '../names.js';
import { billedPublishBytes, type IncomingMessage, type StoredMessage } from './message.js';
import type { QueueEntry } from './message-queue.js';
import { type SubscriptionConfig } from './subscription-config.js';
import { type AckedSelection, type FailureKind, Subscription, type SubscriptionStats } from './subscription.js';

export interface TopicState {
  config: { name: string; labels: Record<string, string> };
  subscriptions: Set<string>;
  published: number;
  /** Publish requests taken, and the bytes Google would bill for them (message.ts billedPublishBytes). */
  publishRequests: number;
  billedPublishBytes: number;
}

/** What the rest of the emulator wants to hear about. */
export interface BrokerListener {
  /** Durable state changed (a snapshot is due). */
  changed(): void;
  /** A subscription has new deliverable messages. */
  deliverable(subscription: Subscription): void;
}

// The attributes the real service adds when it forwards a message to a dead-letter topic.
export const DEAD_LETTER_ATTRIBUTES = {
  deliveryCount: 'CloudPubSubDeadLetterSourceDeliveryCount',
  subscription: 'CloudPubSubDeadLetterSourceSubscription',
  subscriptionProject: 'CloudPubSubDeadLetterSourceSubscriptionProject',
  publishTime: 'CloudPubSubDeadLetterSourceTopicPublishTime',
} as const;

export interface BrokerStats {
  topics: Record<string, { published: number; publishRequests: number; billedPublishBytes: number; subscriptions: number }>;
  subscriptions: Record<string, SubscriptionStats>;
}

export class Broker {
  readonly topics = new Map<string, TopicState>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly epoch = randomBytes(4).toString('hex');
  private nextMessageId = 1;
  private listener: BrokerListener = { changed: () => {}, deliverable: () => {} };

  constructor(
    readonly clock: Clock,
    private readonly log: Logger,
    /** Messages of one ordering key out at once on every subscription (state/message-queue.ts). */
    private readonly orderingKeyBatch: number = EMULATOR_DEFAULTS.orderingKeyBatch,
    /** Acked messages each subscription keeps for redeliverAcked (0: none, an ack is final). */
    private readonly keepAcked = 0,
  ) {}

  setListener(listener: BrokerListener): void {
    this.listener = listener;
  }

  // ---- topics -------------------------------------------------------------------------------------

  createTopic(wire: Partial<WireTopic>): TopicState {
    const name = parseTopicName(wire.name, 'name').full;
    if (this.topics.has(name)) throw alreadyExists('topic', name);
    const topic: TopicState = { config: { name, labels: { ...wire.labels } }, subscriptions: new Set(), published: 0, publishRequests: 0, billedPublishBytes: 0 };
    this.topics.set(name, topic);
    this.log.info({ topic: name }, 'topic created');
    this.listener.changed();
    return topic;
  }

  topic(name: unknown, field = 'topic'): TopicState {
    const full = parseTopicName(name, field).full;
    const topic = this.topics.get(full);
    if (!topic) throw notFound('topic', full);
    return topic;
  }

  deleteTopic(name: unknown): void {
    const topic = this.topic(name);
    // Like the service: subscriptions outlive their topic, pointing at "_deleted-topic_".
    for (const subName of topic.subscriptions) {
      const sub = this.subscriptions.get(subName);
      if (sub) sub.config = { ...sub.config, topic: DELETED_TOPIC };
    }
    this.topics.delete(topic.config.name);
    this.log.info({ topic: topic.config.name }, 'topic deleted');
    this.listener.changed();
  }

  // ---- subscriptions ------------------------------------------------------------------------------

  /** `restoring` accepts what a snapshot may legitimately hold: a subscription whose topic was deleted. */
  createSubscription(config: SubscriptionConfig, { restoring = false } = {}): Subscription {
    const name = parseSubscriptionName(config.name, 'name').full;
    if (this.subscriptions.has(name)) throw alreadyExists('subscription', name);
    const topic = restoring && config.topic === DELETED_TOPIC ? undefined : this.topic(config.topic, 'topic');
    if (!restoring) this.checkDeadLetterTopic(config);
    const sub = new Subscription({ ...config, name }, this.epoch, this.orderingKeyBatch, this.keepAcked);
    this.subscriptions.set(name, sub);
    topic?.subscriptions.add(name);
    this.log.info({ subscription: name, topic: config.topic }, 'subscription created');
    this.listener.changed();
    return sub;
  }

  subscription(name: unknown, field = 'subscription'): Subscription {
    const full = parseSubscriptionName(name, field).full;
    const sub = this.subscriptions.get(full);
    if (!sub) throw notFound('subscription', full);
    return sub;
  }

  updateSubscription(sub: Subscription, config: SubscriptionConfig): Subscription {
    this.checkDeadLetterTopic(config);
    sub.config = config;
    this.listener.changed();
    return sub;
  }

  deleteSubscription(name: unknown): void {
    const sub = this.subscription(name);
    this.subscriptions.delete(sub.name);
    this.topics.get(sub.config.topic)?.subscriptions.delete(sub.name);
    this.log.info({ subscription: sub.name }, 'subscription deleted');
    this.listener.changed();
  }

  private checkDeadLetterTopic(config: SubscriptionConfig): void {
    const dlt = config.deadLetterPolicy?.deadLetterTopic;
    if (dlt && !this.topics.has(dlt)) throw notFound('dead-letter topic', dlt);
    if (dlt && dlt === config.topic) throw invalidArgument(`dead_letter_policy.dead_letter_topic ${dlt} must differ from the subscription's topic.`);
  }

  // ---- messages -----------------------------------------------------------------------------------

  /** Stores the messages on every subscription of the topic; returns their ids in request order. */
  publish(topic: TopicState, messages: IncomingMessage[]): string[] {
    const publishTimeMs = this.clock.now();
    const subs = [...topic.subscriptions].map((n) => this.subscriptions.get(n)).filter((s): s is Subscription => s !== undefined);
    const stored = messages.map((incoming): StoredMessage => ({ ...incoming, id: String(this.nextMessageId++), publishTimeMs }));
    for (const message of stored) for (const sub of subs) sub.enqueue(message);
    topic.published += messages.length;
    topic.publishRequests += 1;
    topic.billedPublishBytes += billedPublishBytes(stored);
    for (const sub of subs) this.listener.deliverable(sub);
    this.listener.changed();
    return stored.map((message) => message.id);
  }

  acknowledge(sub: Subscription, ackIds: string[]): void {
    let settled = 0;
    for (const ackId of ackIds) if (sub.ack(ackId)) settled += 1;
    if (settled > 0) this.afterSettle(sub);
  }

  /** ModifyAckDeadline: 0 is a nack, anything else extends the lease from now. */
  modifyAckDeadline(sub: Subscription, ackIds: string[], seconds: number): void {
    const now = this.clock.now();
    if (seconds > 0) {
      for (const ackId of ackIds) sub.extend(ackId, now + seconds * 1000);
      return;
    }
    let failed = 0;
    for (const ackId of ackIds) {
      const entry = sub.queue.leased(ackId);
      if (!entry) continue;
      this.failDelivery(sub, entry, 'nack', now);
      failed += 1;
    }
    if (failed > 0) this.afterSettle(sub);
  }

  /** Ack deadlines that passed become failed deliveries; backoffs that ended become deliverable. */
  expireDue(): void {
    const now = this.clock.now();
    for (const sub of this.subscriptions.values()) {
      const expired = sub.queue.expired(now);
      // An earlier message of its key that failed here may have ended its lease already (message-queue.ts).
      for (const entry of expired) if (entry.lease) this.failDelivery(sub, entry, 'expired', now);
      sub.queue.promoteDue(now);
      if (expired.length > 0) this.listener.changed();
      if (sub.queue.deliverable) this.listener.deliverable(sub);
    }
  }

  /** Test hook: delivers acked messages of the subscription again (Subscription.redeliverAcked); returns their ids. */
  redeliverAcked(name: string, selection: AckedSelection): string[] {
    const sub = this.subscription(name);
    const ids = sub.redeliverAcked(selection);
    this.log.info({ subscription: sub.name, messageIds: ids }, 'acked messages put back for redelivery (test hook)');
    this.afterSettle(sub);
    return ids;
  }

  /** Restores a stored message (snapshot load). */
  restore(sub: Subscription, message: StoredMessage, attempts: number): void {
    sub.enqueue(message, attempts);
    this.nextMessageId = Math.max(this.nextMessageId, Number(message.id) + 1);
  }

  stats(): BrokerStats {
    const topics: BrokerStats['topics'] = {};
    for (const [name, t] of this.topics) topics[name] = { published: t.published, publishRequests: t.publishRequests, billedPublishBytes: t.billedPublishBytes, subscriptions: t.subscriptions.size };
    const subscriptions: BrokerStats['subscriptions'] = {};
    for (const [name, s] of this.subscriptions) subscriptions[name] = s.stats();
    return { topics, subscriptions };
  }

  private afterSettle(sub: Subscription): void {
    this.listener.changed();
    this.listener.deliverable(sub);
  }

  private failDelivery(sub: Subscription, entry: QueueEntry, kind: FailureKind, now: number): void {
    if (!sub.fail(entry, kind, now)) return;
    const dlt = sub.config.deadLetterPolicy?.deadLetterTopic ?? '';
    const target = this.topics.get(dlt);
    if (!target) {
      // Best effort like the service: without its topic the message stays on the subscription.
      this.log.warn({ subscription: sub.name, deadLetterTopic: dlt }, 'dead-letter topic missing; message kept');
      sub.queue.release(entry, now, now);
      return;
    }
    const { project, id } = parseSubscriptionName(sub.name);
    const source = entry.message;
    this.publish(target, [
      {
        data: source.data,
        orderingKey: source.orderingKey,
        attributes: {
          ...source.attributes,
          [DEAD_LETTER_ATTRIBUTES.deliveryCount]: String(entry.attempts),
          [DEAD_LETTER_ATTRIBUTES.subscription]: id,
          [DEAD_LETTER_ATTRIBUTES.subscriptionProject]: project,
          [DEAD_LETTER_ATTRIBUTES.publishTime]: new Date(source.publishTimeMs).toISOString(),
        },
      },
    ]);
    sub.queue.remove(entry);
    sub.counters.deadLettered += 1;
    this.log.info({ subscription: sub.name, messageId: source.id, attempts: entry.attempts, deadLetterTopic: dlt }, 'message dead-lettered');
  }
}
