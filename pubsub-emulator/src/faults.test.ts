import { credentials, Client, type ClientDuplexStream, makeGenericClientConstructor, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPubSubServices } from './grpc/proto.js';
import { Collector, ONE_STREAM, startTestEmulator, type TestEmulator, uniqueId, until } from './test-support/harness.js';

describe('fault injection and restarts', () => {
  let t: TestEmulator;
  beforeEach(async () => {
    t = await startTestEmulator();
  });
  afterEach(async () => {
    await t.close();
  });

  it('fails Publish N times with a retryable code; the client retries and the message arrives once', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('flaky'));
    const [sub] = await topic.createSubscription(uniqueId('flaky-sub'));
    t.emulator.failNext('Publish', 2, status.UNAVAILABLE);
    const id = await topic.publishMessage({ data: Buffer.from('eventually') });
    expect(t.emulator.stats().rpcErrors['Publish UNAVAILABLE']).toBe(2);
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM));
    const [message] = await collector.waitFor(1);
    expect(message?.id).toBe(id);
    expect(t.emulator.stats().subscriptions[sub.name]?.published).toBe(1);
    await collector.subscription.close();
  });

  it('fails Publish with a non-retryable code, which the client surfaces', async () => {
    const [topic] = await t.client().createTopic(uniqueId('denied'));
    t.emulator.failNext('Publish', 1, status.PERMISSION_DENIED, 'injected: no publish for you');
    await expect(topic.publishMessage({ data: Buffer.from('x') })).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    await expect(topic.publishMessage({ data: Buffer.from('y') })).resolves.toMatch(/^\d+$/);
  });

  it('forgets the planned failures that have not happened yet when cleared', async () => {
    const [topic] = await t.client().createTopic(uniqueId('cleared'));
    t.emulator.failNext('Publish', 1000, status.PERMISSION_DENIED);
    await expect(topic.publishMessage({ data: Buffer.from('x') })).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    t.emulator.clearFaults();
    await expect(topic.publishMessage({ data: Buffer.from('y') })).resolves.toMatch(/^\d+$/);
    expect(t.emulator.stats().rpcErrors['Publish PERMISSION_DENIED']).toBe(1);
  });

  it('drops open StreamingPull streams; the subscriber reconnects and keeps receiving', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('drop'));
    const [sub] = await topic.createSubscription(uniqueId('drop-sub'));
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM));
    await topic.publishMessage({ data: Buffer.from('before') });
    await collector.waitFor(1);
    expect(t.emulator.dropStreams()).toBe(1);
    await topic.publishMessage({ data: Buffer.from('after') });
    await collector.waitFor(2, 10_000);
    expect(collector.data()).toEqual(['before', 'after']);
    await collector.subscription.close();
  });

  it('ends the streams of a deleted subscription with NOT_FOUND, as Pub/Sub does: the subscriber stops for good, others pull on', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('deleted'));
    const [gone] = await topic.createSubscription(uniqueId('deleted-sub'));
    const [kept] = await topic.createSubscription(uniqueId('kept-sub'));
    const doomed = pubsub.subscription(gone.name, ONE_STREAM);
    const errors: Array<{ code?: number }> = [];
    const closed = new Promise<void>((resolve) => doomed.once('close', () => resolve()));
    doomed.on('error', (error: { code?: number }) => errors.push(error));
    doomed.on('message', (message: { ack(): void }) => message.ack());
    const other = new Collector(pubsub.subscription(kept.name, ONE_STREAM));
    await until(() => t.emulator.stats().openStreams === 2, 'both streams open');
    await gone.delete();
    await closed;
    expect(errors.map((e) => e.code)).toEqual([status.NOT_FOUND]);
    await topic.publishMessage({ data: Buffer.from('still here') });
    expect((await other.waitFor(1)).map((m) => m.data.toString())).toEqual(['still here']);
    await other.subscription.close();
  });

  it('restarts on the same port while clients publish and subscribe, and they carry on', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('restart'));
    const [sub] = await topic.createSubscription(uniqueId('restart-sub'));
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM));
    await topic.publishMessage({ data: Buffer.from('one') });
    await collector.waitFor(1);
    let duringOutage: Promise<string> | undefined;
    await t.emulator.restart(() => {
      duringOutage = topic.publishMessage({ data: Buffer.from('two') });
      return Promise.resolve();
    });
    await duringOutage;
    await collector.waitFor(2, 15_000);
    expect(collector.data()).toEqual(['one', 'two']);
    await collector.subscription.close();
  });
});

describe('redelivering acked messages (test hook), as Pub/Sub may at least once', () => {
  let t: TestEmulator;
  beforeEach(async () => {
    t = await startTestEmulator({ keepAcked: 10 });
  });
  afterEach(async () => {
    await t.close();
  });

  it('delivers an acked message again over StreamingPull, the same message, and the subscriber acks it again', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('dup'));
    const [sub] = await topic.createSubscription(uniqueId('dup-sub'), { enableMessageOrdering: true });
    const ordered = pubsub.topic(topic.name, { messageOrdering: true });
    const first = await ordered.publishMessage({ data: Buffer.from('first'), attributes: { n: '1' }, orderingKey: 'k' });
    await ordered.publishMessage({ data: Buffer.from('second'), orderingKey: 'k' });
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM));
    await collector.waitFor(2);
    await until(() => t.emulator.stats().subscriptions[sub.name]?.acked === 2, 'both acked');

    expect(t.emulator.redeliverAcked(sub.name, { messageIds: [first] })).toEqual([first]);
    const [, , again] = await collector.waitFor(3);
    const original = collector.messages[0]!;
    expect({ id: again?.id, data: again?.data.toString(), attributes: again?.attributes, orderingKey: again?.orderingKey, publishTime: again?.publishTime.getTime() }).toEqual({
      id: first,
      data: 'first',
      attributes: { n: '1' },
      orderingKey: 'k',
      publishTime: original.publishTime.getTime(),
    });
    await until(() => t.emulator.stats().subscriptions[sub.name]?.acked === 3, 'the duplicate acked');
    expect(t.emulator.stats().subscriptions[sub.name]).toMatchObject({ published: 2, delivered: 3, redelivered: 1, backlog: 0 });
    expect(collector.messages).toHaveLength(3);
    await collector.subscription.close();
  });

  it('delivers the last N acked again, and refuses messages it did not keep', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('dup-last'));
    const [sub] = await topic.createSubscription(uniqueId('dup-last-sub'));
    const ids = [await topic.publishMessage({ data: Buffer.from('a') }), await topic.publishMessage({ data: Buffer.from('b') })];
    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM));
    await collector.waitFor(2);
    await until(() => t.emulator.stats().subscriptions[sub.name]?.acked === 2, 'both acked');
    expect(() => t.emulator.redeliverAcked(sub.name, { last: 3 })).toThrow(RangeError);
    expect(() => t.emulator.redeliverAcked(sub.name, { messageIds: ['no-such-id'] })).toThrow(/message no-such-id is not among the 2 acked/);
    expect(new Set(t.emulator.redeliverAcked(sub.name, { last: 2 }))).toEqual(new Set(ids));
    await collector.waitFor(4);
    expect(new Set(collector.messages.slice(2).map((m) => m.id))).toEqual(new Set(ids));
    await collector.subscription.close();
  });
});

describe('misbehaving raw gRPC clients never stop the server', () => {
  let t: TestEmulator;
  beforeEach(async () => {
    t = await startTestEmulator();
  });
  afterEach(async () => {
    await t.close();
  });

  const raw = () => new Client(t.emulator.endpoint, credentials.createInsecure());
  const identity = (b: Buffer) => b;

  it('answers undecodable bytes with an error status and keeps serving', async () => {
    const client = raw();
    const error = await new Promise<ServiceError | null>((resolve) =>
      client.makeUnaryRequest('/google.pubsub.v1.Publisher/Publish', identity, identity, Buffer.from([0xff, 0xff, 0xff, 0x0f]), (e) => resolve(e)),
    );
    expect(error?.code).toBeTypeOf('number');
    expect(error?.code).not.toBe(status.OK);
    client.close();
    const [topic] = await t.client().createTopic(uniqueId('still-alive'));
    expect(topic.name).toContain('still-alive');
  });

  it('ends a StreamingPull that names no subscription, survives cancelled streams, and redelivers what they held', async () => {
    const Subscriber = makeGenericClientConstructor(loadPubSubServices().subscriber, 'Subscriber');
    const client = new Subscriber(t.emulator.endpoint, credentials.createInsecure()) as unknown as {
      StreamingPull(): ClientDuplexStream<object, { receivedMessages: unknown[] }>;
      close(): void;
    };
    const bad = client.StreamingPull();
    const badStatus = new Promise<number>((resolve) => bad.on('error', (e: ServiceError) => resolve(e.code)));
    bad.write({ streamAckDeadlineSeconds: 10 });
    expect(await badStatus).toBe(status.INVALID_ARGUMENT);

    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('cancel'));
    const [sub] = await topic.createSubscription(uniqueId('cancel-sub'));
    await topic.publishMessage({ data: Buffer.from('held-then-abandoned') });
    const stream = client.StreamingPull();
    stream.on('error', () => {}); // the cancellation status
    const got = new Promise<number>((resolve) => stream.on('data', (r: { receivedMessages: unknown[] }) => resolve(r.receivedMessages.length)));
    stream.write({ subscription: sub.name, streamAckDeadlineSeconds: 10 });
    expect(await got).toBe(1);
    stream.cancel();
    client.close();
    await until(() => t.emulator.stats().openStreams === 0, 'stream closed');

    const collector = new Collector(pubsub.subscription(sub.name, ONE_STREAM));
    t.clock.advance(10_000); // the abandoned lease expires
    const [message] = await collector.waitFor(1);
    expect(message?.data.toString()).toBe('held-then-abandoned');
    expect(t.emulator.stats().subscriptions[sub.name]).toMatchObject({ expired: 1, redelivered: 1 });
    await collector.subscription.close();
  });
});
