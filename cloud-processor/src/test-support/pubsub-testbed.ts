// Test plumbing for the transport: an emulator (ManualClock, silent), a feature topic with an ordered
// subscription, a dead-letter topic whose messages are collected, and helpers to publish windows and
// health reports the way the edge gateway does (attributes schema/gateway/site; a lone window's ordering
// key is its machine id, a feature batch's its gateway id and shard, a health report has none).
import type { PubSub, Topic } from '@google-cloud/pubsub';
import {
  FeatureBatchSchema,
  GatewayHealthSchema,
  MachineWindowSchema,
  create,
  featureBatchOrderingKey,
  pubsubAttributes,
  toBinary,
  type GatewayHealth,
  type MachineWindow,
} from '@pdm/proto';
import type { AckedSelection } from '@pdm/pubsub-emulator';
import { Collector, PROJECT, startTestEmulator, uniqueId, type TestEmulator } from '@pdm/pubsub-emulator/testing';
import type { ClientConfig } from '@google-cloud/pubsub';

export interface PubSubTestbed {
  t: TestEmulator;
  pubsub: PubSub;
  clientConfig: ClientConfig;
  featuresTopic: string;
  subscription: string;
  deadLetterTopic: string;
  deadLetters: Collector;
  publishWindow(window: MachineWindow): Promise<string>;
  /** The windows as one FeatureBatch of shard `shard` of the first window's gateway (gw-1 when there is none). */
  publishBatch(windows: readonly MachineWindow[], shard?: number): Promise<string>;
  publishHealth(health: GatewayHealth): Promise<string>;
  publishRaw(data: Uint8Array, attributes: Record<string, string>): Promise<string>;
  /** Delivers acked messages of the processor's subscription again, as Pub/Sub may (needs `keepAcked`); returns their ids. */
  redeliverAcked(selection: AckedSelection): string[];
  /** Stats of the processor's subscription (acked, nacked, outstanding…). */
  stats(): { acked: number; nacked: number; delivered: number; redelivered: number; outstanding: number; backlog: number };
  close(): Promise<void>;
}

export interface PubSubTestbedOptions {
  deadLetterPolicy?: { maxDeliveryAttempts: number };
  /** The emulator's orderingKeyBatch: above 1, several messages of a key are delivered together, as Google may. */
  orderingKeyBatch?: number;
  /** Acked messages the emulator keeps per subscription, so that redeliverAcked can send them again. */
  keepAcked?: number;
}

export async function startPubSubTestbed(options: PubSubTestbedOptions = {}): Promise<PubSubTestbed> {
  const t = await startTestEmulator({ orderingKeyBatch: options.orderingKeyBatch, keepAcked: options.keepAcked });
  const pubsub = t.client();
  const featuresTopic = uniqueId('features');
  const deadLetterTopic = uniqueId('dead-letters');
  const subscription = uniqueId('processor');
  const [topic] = await pubsub.createTopic(featuresTopic);
  const [dlTopic] = await pubsub.createTopic(deadLetterTopic);
  const [dlSub] = await dlTopic.createSubscription(uniqueId('dead-letters-sub'));
  const [sub] = await topic.createSubscription(subscription, {
    enableMessageOrdering: true,
    ...(options.deadLetterPolicy ? { deadLetterPolicy: { deadLetterTopic: dlTopic.name, maxDeliveryAttempts: options.deadLetterPolicy.maxDeliveryAttempts } } : {}),
  });
  const ordered: Topic = pubsub.topic(featuresTopic, { messageOrdering: true, batching: { maxMessages: 100, maxMilliseconds: 1 } });
  const deadLetters = new Collector(pubsub.subscription(dlSub.name));
  return {
    t,
    pubsub,
    clientConfig: { projectId: PROJECT, apiEndpoint: t.emulator.endpoint, emulatorMode: true },
    featuresTopic,
    subscription,
    deadLetterTopic,
    deadLetters,
    publishWindow: (window) =>
      ordered.publishMessage({
        data: Buffer.from(toBinary(MachineWindowSchema, window)),
        attributes: pubsubAttributes(MachineWindowSchema, window),
        orderingKey: window.machineId,
      }),
    publishBatch: (windows, shard = 0) => {
      const source = { gatewayId: windows[0]?.gatewayId ?? 'gw-1', siteId: windows[0]?.siteId ?? 'plant-1' };
      return ordered.publishMessage({
        data: Buffer.from(toBinary(FeatureBatchSchema, create(FeatureBatchSchema, { ...source, shard, windows: [...windows] }))),
        attributes: pubsubAttributes(FeatureBatchSchema, source),
        orderingKey: featureBatchOrderingKey(source.gatewayId, shard),
      });
    },
    publishHealth: (health) =>
      ordered.publishMessage({
        data: Buffer.from(toBinary(GatewayHealthSchema, health)),
        attributes: pubsubAttributes(GatewayHealthSchema, health),
      }),
    publishRaw: (data, attributes) => ordered.publishMessage({ data: Buffer.from(data), attributes }),
    redeliverAcked: (selection) => t.emulator.redeliverAcked(sub.name, selection),
    stats: () => {
      const s = t.emulator.stats().subscriptions[sub.name];
      if (!s) throw new Error(`no stats for ${sub.name}`);
      return s;
    },
    async close() {
      await deadLetters.subscription.close();
      await t.close();
    },
  };
}
