import { credentials, status } from '@grpc/grpc-js';
import { v1, type Message } from '@google-cloud/pubsub';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEAD_LETTER_ATTRIBUTES } from './state/broker.js';
import { Collector, ONE_STREAM, startTestEmulator, type TestEmulator, uniqueId, until } from './test-support/harness.js';

describe('ordering keys', () => {
  let t: TestEmulator;
  beforeEach(async () => {
    t = await startTestEmulator();
  });
  afterEach(async () => {
    await t.close();
  });

  it('delivers one message per ordering key at a time, in publish order, the next only after the ack', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('ordered'));
    const [sub] = await topic.createSubscription(uniqueId('ordered-sub'), { enableMessageOrdering: true });
    const orderedTopic = pubsub.topic(topic.name, { messageOrdering: true, batching: { maxMessages: 100, maxMilliseconds: 5 } });
    const publishes: Promise<string>[] = [];
    for (let i = 0; i < 5; i++) {
      for (const machine of ['pump-1', 'fan-2']) publishes.push(orderedTopic.publishMessage({ data: Buffer.from(`${machine}:${i}`), orderingKey: machine }));
    }
    await Promise.all(publishes);
    const held: Message[] = [];
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM), (m) => held.push(m));
    await collector.waitFor(2);
    await until(() => t.emulator.stats().subscriptions[sub.name]?.outstanding === 2, 'heads leased');
    // Plenty of flow-control room, yet only the head of each key is out.
    expect(collector.data().sort()).toEqual(['fan-2:0', 'pump-1:0']);
    while (collector.messages.length < 10) {
      const count = collector.messages.length;
      for (const m of held.splice(0)) m.ack();
      await collector.waitFor(count + 1);
      await until(() => held.length === 2 || collector.messages.length === 10, 'next heads');
    }
    for (const m of held.splice(0)) m.ack();
    for (const machine of ['pump-1', 'fan-2']) {
      const sequence = collector.data().filter((d) => d.startsWith(machine));
      expect(sequence).toEqual([0, 1, 2, 3, 4].map((i) => `${machine}:${i}`));
    }
    await collector.subscription.close();
  });

  it('redelivers a nacked head before anything behind it', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('ordered-nack'));
    const [sub] = await topic.createSubscription(uniqueId('ordered-nack-sub'), { enableMessageOrdering: true });
    const orderedTopic = pubsub.topic(topic.name, { messageOrdering: true });
    await Promise.all(['a', 'b', 'c'].map((d) => orderedTopic.publishMessage({ data: Buffer.from(d), orderingKey: 'k' })));
    let nacked = false;
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM), (m) => {
      if (!nacked && m.data.toString() === 'a') {
        nacked = true;
        m.nack();
      } else m.ack();
    });
    await collector.waitFor(4);
    expect(collector.data()).toEqual(['a', 'a', 'b', 'c']);
    await collector.subscription.close();
  });
});

describe('ordering keys delivered several at a time (orderingKeyBatch), as Google may', () => {
  let t: TestEmulator;
  beforeEach(async () => {
    t = await startTestEmulator({ orderingKeyBatch: 10 });
  });
  afterEach(async () => {
    await t.close();
  });

  async function orderedSubscription(prefix: string) {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId(prefix));
    const [sub] = await topic.createSubscription(uniqueId(`${prefix}-sub`), { enableMessageOrdering: true });
    const orderedTopic = pubsub.topic(topic.name, { messageOrdering: true, batching: { maxMessages: 100, maxMilliseconds: 5 } });
    return { pubsub, sub, publish: (data: string, orderingKey: string) => orderedTopic.publishMessage({ data: Buffer.from(data), orderingKey }) };
  }

  it('sends the messages of a key together in one StreamingPull response, in publish order', async () => {
    const { sub, publish } = await orderedSubscription('batched');
    await Promise.all(['k:0', 'k:1', 'k:2'].map((d) => publish(d, 'k')));
    const raw = new v1.SubscriberClient({ apiEndpoint: t.emulator.host, port: t.emulator.port, sslCreds: credentials.createInsecure() });
    const stream = raw.streamingPull();
    try {
      const response = new Promise<{ receivedMessages?: { message?: { data?: Uint8Array | string | null; orderingKey?: string | null } | null }[] | null }>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', reject);
      });
      stream.write({ subscription: sub.name, streamAckDeadlineSeconds: 10 });
      const { receivedMessages } = await response;
      expect(receivedMessages?.map((m) => [Buffer.from(m.message?.data ?? '').toString(), m.message?.orderingKey])).toEqual([
        ['k:0', 'k'],
        ['k:1', 'k'],
        ['k:2', 'k'],
      ]);
      expect(t.emulator.stats().subscriptions[sub.name]).toMatchObject({ outstanding: 3, acked: 0 });
    } finally {
      stream.cancel();
      await raw.close();
    }
  });

  it("counts one expiry when a key's messages expire together: the first one's redelivery takes the later ones with it", async () => {
    const { sub, publish } = await orderedSubscription('batched-expiry');
    await Promise.all(['k:0', 'k:1', 'k:2'].map((d) => publish(d, 'k')));
    // A raw stream: the official client would extend the deadlines.
    const raw = new v1.SubscriberClient({ apiEndpoint: t.emulator.host, port: t.emulator.port, sslCreds: credentials.createInsecure() });
    const stream = raw.streamingPull();
    const received: string[] = [];
    // cancel() at the end ends the stream with CANCELLED; anything else is a failure.
    const errors: unknown[] = [];
    stream.on('error', (error: { code?: number }) => error.code === status.CANCELLED || errors.push(error));
    stream.on('data', (response: { receivedMessages?: { message?: { data?: Uint8Array | string | null } | null }[] | null }) => {
      for (const m of response.receivedMessages ?? []) received.push(Buffer.from(m.message?.data ?? '').toString());
    });
    try {
      stream.write({ subscription: sub.name, streamAckDeadlineSeconds: 10 });
      await until(() => received.length === 3, 'the first delivery');
      t.clock.advance(10_000);
      await until(() => received.length === 6, 'the redelivery');
      expect(received).toEqual(['k:0', 'k:1', 'k:2', 'k:0', 'k:1', 'k:2']);
      expect(t.emulator.stats().subscriptions[sub.name]).toMatchObject({ expired: 1, redelivered: 3, outstanding: 3 });
      expect(errors).toEqual([]);
    } finally {
      stream.cancel();
      await raw.close();
    }
  });

  it('on a nack, redelivers the failed message and every later one at once, in order; acks of their old deliveries are ignored', async () => {
    const { pubsub, sub, publish } = await orderedSubscription('batched-nack');
    await Promise.all(['a', 'b', 'c'].map((d) => publish(d, 'k')));
    const held: Message[] = [];
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM), (m) => held.push(m));
    await collector.waitFor(3);
    expect(collector.data()).toEqual(['a', 'b', 'c']); // all out before any ack
    const [a, b, c] = held.splice(0) as [Message, Message, Message];
    a.nack();
    // b and c are still held, unsettled: they come back behind a anyway, as the service redelivers them.
    await collector.waitFor(6);
    expect(collector.data()).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    const [again] = held.splice(0, 1) as [Message];
    b.ack(); // old deliveries: their leases ended with a's nack
    c.ack();
    again.ack();
    await until(() => t.emulator.stats().subscriptions[sub.name]?.acked === 1, 'the ack of the redelivered a');
    expect(t.emulator.stats().subscriptions[sub.name]).toMatchObject({ acked: 1, nacked: 1, redelivered: 3, backlog: 2 });
    for (const m of held.splice(0)) m.ack();
    await until(() => t.emulator.stats().subscriptions[sub.name]?.backlog === 0, 'all acked');
    await collector.subscription.close();
  });
});

describe('ack deadlines, retry backoff and dead-lettering on the injected clock', () => {
  let t: TestEmulator;
  beforeEach(async () => {
    t = await startTestEmulator();
  });
  afterEach(async () => {
    await t.close();
  });

  it('redelivers when the ack deadline passes, with delivery_attempt incremented under a dead-letter policy', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('expiry'));
    const [dlq] = await pubsub.createTopic(uniqueId('expiry-dlq'));
    const [sub] = await topic.createSubscription(uniqueId('expiry-sub'), {
      ackDeadlineSeconds: 10,
      deadLetterPolicy: { deadLetterTopic: dlq.name, maxDeliveryAttempts: 5 },
    });
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM), () => {}); // never acks
    await topic.publishMessage({ data: Buffer.from('slow') });
    const [first] = await collector.waitFor(1);
    expect(first?.deliveryAttempt).toBe(1);
    t.clock.advance(9_000);
    expect(t.emulator.stats().subscriptions[sub.name]?.expired).toBe(0);
    t.clock.advance(1_500); // the stream ack deadline (10 s) has now passed
    const [, second] = await collector.waitFor(2);
    expect(second?.id).toBe(first?.id);
    expect(second?.deliveryAttempt).toBe(2);
    expect(t.emulator.stats().subscriptions[sub.name]).toMatchObject({ expired: 1, redelivered: 1 });
    await collector.subscription.close();
  });

  it('forwards a message to the dead-letter topic after max delivery attempts, with the source delivery count', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('dl-src'));
    const [dlq] = await pubsub.createTopic(uniqueId('dl-topic'));
    const [dlqSub] = await dlq.createSubscription(uniqueId('dl-topic-sub'));
    const [sub] = await topic.createSubscription(uniqueId('dl-sub'), { deadLetterPolicy: { deadLetterTopic: dlq.name, maxDeliveryAttempts: 5 } });
    const failing = new Collector(pubsub.subscription(sub.name, ONE_STREAM), (m) => m.nack());
    const dead = new Collector(pubsub.subscription(dlqSub.name, ONE_STREAM));
    await topic.publishMessage({ data: Buffer.from('poison'), attributes: { machine: 'pump-7' } });
    const [letter] = await dead.waitFor(1);
    expect(failing.messages.map((m) => m.deliveryAttempt)).toEqual([1, 2, 3, 4, 5]);
    expect(letter?.data.toString()).toBe('poison');
    expect(letter?.attributes).toMatchObject({
      machine: 'pump-7',
      [DEAD_LETTER_ATTRIBUTES.deliveryCount]: '5',
      [DEAD_LETTER_ATTRIBUTES.subscription]: sub.name.split('/').pop(),
      [DEAD_LETTER_ATTRIBUTES.subscriptionProject]: 'pdm-test',
    });
    expect(t.emulator.stats().subscriptions[sub.name]).toMatchObject({ deadLettered: 1, nacked: 5, backlog: 0 });
    await Promise.all([failing.subscription.close(), dead.subscription.close()]);
  });

  it('holds a nacked message back for the retry policy backoff, growing exponentially up to the maximum', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('backoff'));
    const [sub] = await topic.createSubscription(uniqueId('backoff-sub'), {
      retryPolicy: { minimumBackoff: { seconds: 10 }, maximumBackoff: { seconds: 15 } },
    });
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM), (m) => m.nack());
    await topic.publishMessage({ data: Buffer.from('retry-me') });
    await collector.waitFor(1);
    await until(() => t.emulator.stats().subscriptions[sub.name]?.nacked === 1, 'first nack');
    const delivered = () => t.emulator.stats().subscriptions[sub.name]?.delivered;
    // advance() runs the scheduler synchronously, so the server's counters are exact right after it.
    t.clock.advance(9_999);
    expect(delivered()).toBe(1);
    t.clock.advance(1); // minimum backoff (10 s) over
    expect(delivered()).toBe(2);
    await collector.waitFor(2);
    await until(() => t.emulator.stats().subscriptions[sub.name]?.nacked === 2, 'second nack');
    t.clock.advance(14_999); // second backoff is min(10 s * 2, 15 s) = 15 s
    expect(delivered()).toBe(2);
    t.clock.advance(1);
    expect(delivered()).toBe(3);
    await collector.waitFor(3);
    await collector.subscription.close();
  });
});
