import type { Message } from '@google-cloud/pubsub';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Collector, ONE_STREAM, startTestEmulator, type TestEmulator, uniqueId, until } from './test-support/harness.js';

describe('publish and subscribe with the official client', () => {
  let t: TestEmulator;
  beforeEach(async () => {
    t = await startTestEmulator();
  });
  afterEach(async () => {
    await t.close();
  });

  it('publishes a batch with attributes and delivers every message once over StreamingPull, then counts the acks', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('orders'));
    const [sub] = await topic.createSubscription(uniqueId('orders-sub'));
    const batched = pubsub.topic(topic.name, { batching: { maxMessages: 50, maxMilliseconds: 20 } });
    const ids = await Promise.all(
      Array.from({ length: 120 }, (_, i) => batched.publishMessage({ data: Buffer.from(`m${i}`), attributes: { index: String(i), schema: 'v1' } })),
    );
    expect(new Set(ids).size).toBe(120);
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM));
    const received = await collector.waitFor(120);
    expect(received.map((m) => m.data.toString()).sort()).toEqual(Array.from({ length: 120 }, (_, i) => `m${i}`).sort());
    const first = received.find((m) => m.data.toString() === 'm7');
    expect(first?.attributes).toEqual({ index: '7', schema: 'v1' });
    expect(ids).toContain(first?.id);
    expect(first?.deliveryAttempt).toBe(0); // no dead-letter policy: the service leaves it unset
    await until(() => t.emulator.stats().subscriptions[sub.name]?.acked === 120, 'all acks');
    const stats = t.emulator.stats().subscriptions[sub.name];
    expect(stats).toMatchObject({ published: 120, delivered: 120, acked: 120, outstanding: 0, backlog: 0, redelivered: 0 });
    await collector.subscription.close();
  });
});

describe('delivery semantics', () => {
  let t: TestEmulator;
  beforeEach(async () => {
    t = await startTestEmulator();
  });
  afterEach(async () => {
    await t.close();
  });

  it('fans out: two subscriptions on one topic each receive every message', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('fan'));
    const [a] = await topic.createSubscription(uniqueId('fan-a'));
    const [b] = await topic.createSubscription(uniqueId('fan-b'));
    await Promise.all(['x', 'y', 'z'].map((d) => topic.publishMessage({ data: Buffer.from(d) })));
    const ca = new Collector(pubsub.subscription(a.name, ONE_STREAM));
    const cb = new Collector(pubsub.subscription(b.name, ONE_STREAM));
    expect((await ca.waitFor(3)).map((m) => m.data.toString()).sort()).toEqual(['x', 'y', 'z']);
    expect((await cb.waitFor(3)).map((m) => m.data.toString()).sort()).toEqual(['x', 'y', 'z']);
    await Promise.all([ca.subscription.close(), cb.subscription.close()]);
  });

  it('shares one subscription between several clients, each message to one client at a time', async () => {
    const [topic] = await t.client().createTopic(uniqueId('shared'));
    const [sub] = await topic.createSubscription(uniqueId('shared-sub'));
    const options = { ...ONE_STREAM, flowControl: { maxMessages: 5, allowExcessMessages: false } };
    const first = new Collector(t.client().subscription(sub.name, options));
    const second = new Collector(t.client().subscription(sub.name, options));
    await until(() => t.emulator.stats().openStreams === 2, 'both streams open');
    await Promise.all(Array.from({ length: 60 }, (_, i) => topic.publishMessage({ data: Buffer.from(`s${i}`) })));
    await until(() => first.messages.length + second.messages.length >= 60, '60 deliveries');
    expect(first.messages.length).toBeGreaterThan(0);
    expect(second.messages.length).toBeGreaterThan(0);
    const all = [...first.data(), ...second.data()];
    expect(new Set(all).size).toBe(60);
    await until(() => t.emulator.stats().subscriptions[sub.name]?.acked === 60, 'acks');
    expect(t.emulator.stats().subscriptions[sub.name]?.redelivered).toBe(0);
    await Promise.all([first.subscription.close(), second.subscription.close()]);
  });

  it("respects the stream's flow control: no more than max_outstanding_messages unacked on the stream", async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('flow'));
    const [sub] = await topic.createSubscription(uniqueId('flow-sub'));
    await Promise.all(Array.from({ length: 5 }, (_, i) => topic.publishMessage({ data: Buffer.from(`f${i}`) })));
    const held: Message[] = [];
    const collector = new Collector(pubsub.subscription(sub.name, { ...ONE_STREAM, flowControl: { maxMessages: 2, allowExcessMessages: false } }), (m) => held.push(m));
    await collector.waitFor(2);
    await until(() => t.emulator.stats().subscriptions[sub.name]?.outstanding === 2, 'two leased');
    // The server, not only the client, holds back the rest.
    expect(t.emulator.stats().subscriptions[sub.name]?.delivered).toBe(2);
    held.shift()?.ack();
    await collector.waitFor(3);
    expect(t.emulator.stats().subscriptions[sub.name]?.delivered).toBe(3);
    for (const m of held) m.ack();
    await collector.subscription.close();
  });

  it('redelivers a nacked message immediately when there is no retry policy', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('nack'));
    const [sub] = await topic.createSubscription(uniqueId('nack-sub'));
    let seen = 0;
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM), (m) => (++seen === 1 ? m.nack() : m.ack()));
    await topic.publishMessage({ data: Buffer.from('again') });
    const [firstDelivery, secondDelivery] = await collector.waitFor(2);
    expect(secondDelivery?.id).toBe(firstDelivery?.id);
    expect(secondDelivery?.ackId).not.toBe(firstDelivery?.ackId);
    await until(() => t.emulator.stats().subscriptions[sub.name]?.acked === 1, 'ack');
    expect(t.emulator.stats().subscriptions[sub.name]).toMatchObject({ nacked: 1, redelivered: 1, backlog: 0 });
    await collector.subscription.close();
  });

  it('serves unary Pull, Acknowledge and ModifyAckDeadline through the generated v1 client', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('pull'));
    const [sub] = await topic.createSubscription(uniqueId('pull-sub'));
    await topic.publishMessage({ data: Buffer.from('p1'), orderingKey: '' });
    const { v1 } = await import('@google-cloud/pubsub');
    const raw = new v1.SubscriberClient({ apiEndpoint: t.emulator.host, port: t.emulator.port, sslCreds: (await import('@grpc/grpc-js')).credentials.createInsecure() });
    try {
      const [first] = await raw.pull({ subscription: sub.name, maxMessages: 10 });
      expect(first.receivedMessages?.map((m) => m.message?.data?.toString())).toEqual(['p1']);
      const ackId = first.receivedMessages?.[0]?.ackId ?? '';
      await raw.modifyAckDeadline({ subscription: sub.name, ackIds: [ackId], ackDeadlineSeconds: 0 });
      const [second] = await raw.pull({ subscription: sub.name, maxMessages: 10 });
      expect(second.receivedMessages).toHaveLength(1);
      await raw.acknowledge({ subscription: sub.name, ackIds: [second.receivedMessages?.[0]?.ackId ?? ''] });
      const [empty] = await raw.pull({ subscription: sub.name, maxMessages: 10, returnImmediately: true });
      expect(empty.receivedMessages ?? []).toHaveLength(0);
      expect(t.emulator.stats().subscriptions[sub.name]).toMatchObject({ delivered: 2, nacked: 1, acked: 1, backlog: 0 });
    } finally {
      await raw.close();
    }
  });
});
