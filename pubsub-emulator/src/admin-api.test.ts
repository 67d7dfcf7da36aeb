import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT, startTestEmulator, type TestEmulator, uniqueId } from './test-support/harness.js';

const codeOf = async (promise: Promise<unknown>) => promise.then(() => 'resolved', (e: { code?: number }) => e.code);

describe('topic and subscription administration with the official client', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates, gets, lists and deletes topics', async () => {
    const pubsub = t.client();
    const name = uniqueId('machines');
    const [topic] = await pubsub.createTopic(name);
    expect(topic.name).toBe(`projects/${PROJECT}/topics/${name}`);
    const [exists] = await pubsub.topic(name).exists();
    expect(exists).toBe(true);
    const [metadata] = await pubsub.topic(name).getMetadata();
    expect(metadata.name).toBe(topic.name);
    const [topics] = await pubsub.getTopics();
    expect(topics.map((x) => x.name)).toContain(topic.name);
    await pubsub.topic(name).delete();
    expect((await pubsub.topic(name).exists())[0]).toBe(false);
  });

  it('creates, gets, lists, updates and deletes subscriptions', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('windows'));
    const [dlq] = await pubsub.createTopic(uniqueId('windows-dlq'));
    const subName = uniqueId('processor');
    const [sub] = await topic.createSubscription(subName, {
      ackDeadlineSeconds: 30,
      enableMessageOrdering: true,
      deadLetterPolicy: { deadLetterTopic: dlq.name, maxDeliveryAttempts: 7 },
      retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 60 } },
    });
    const [metadata] = await sub.getMetadata();
    expect(metadata).toMatchObject({
      topic: topic.name,
      ackDeadlineSeconds: 30,
      enableMessageOrdering: true,
      deadLetterPolicy: { deadLetterTopic: dlq.name, maxDeliveryAttempts: 7 },
    });
    expect(Number(metadata.retryPolicy?.maximumBackoff?.seconds)).toBe(60);
    const [listed] = await pubsub.getSubscriptions();
    expect(listed.map((s) => s.name)).toContain(sub.name);
    const [onTopic] = await topic.getSubscriptions();
    expect(onTopic.map((s) => s.name)).toEqual([sub.name]);
    const [updated] = await sub.setMetadata({ ackDeadlineSeconds: 60, labels: { team: 'maintenance' } });
    expect(updated).toMatchObject({ ackDeadlineSeconds: 60, labels: { team: 'maintenance' } });
    await sub.delete();
    expect((await sub.exists())[0]).toBe(false);
  });

  it('answers NOT_FOUND, ALREADY_EXISTS and INVALID_ARGUMENT with the codes the service uses', async () => {
    const pubsub = t.client();
    const name = uniqueId('dup');
    await pubsub.createTopic(name);
    expect(await codeOf(pubsub.createTopic(name))).toBe(status.ALREADY_EXISTS);
    expect(await codeOf(pubsub.topic(uniqueId('missing')).getMetadata())).toBe(status.NOT_FOUND);
    expect(await codeOf(pubsub.topic(uniqueId('missing')).publishMessage({ data: Buffer.from('x') }))).toBe(status.NOT_FOUND);
    expect(await codeOf(pubsub.topic(uniqueId('missing')).createSubscription(uniqueId('s')))).toBe(status.NOT_FOUND);
    expect(await codeOf(pubsub.subscription(uniqueId('missing')).getMetadata())).toBe(status.NOT_FOUND);
    expect(await codeOf(pubsub.topic(name).createSubscription(uniqueId('s'), { ackDeadlineSeconds: 5 }))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(pubsub.topic(name).createSubscription(uniqueId('s'), { deadLetterPolicy: { deadLetterTopic: pubsub.topic(uniqueId('nope')).name, maxDeliveryAttempts: 5 } }))).toBe(status.NOT_FOUND);
    expect(await codeOf(pubsub.topic(name).createSubscription(uniqueId('s'), { deadLetterPolicy: { deadLetterTopic: pubsub.topic(name).name, maxDeliveryAttempts: 200 } }))).toBe(status.INVALID_ARGUMENT);
    for (const bad of ['ab', '1starts-with-digit', 'googlish', 'has space', 'x'.repeat(256)]) {
      expect(await codeOf(pubsub.createTopic(bad)), bad).toBe(status.INVALID_ARGUMENT);
    }
    expect(await codeOf(pubsub.createTopic('ok~name+with%chars_1.2-3'))).toBe('resolved');
    expect(t.emulator.stats().rpcErrors['CreateTopic INVALID_ARGUMENT']).toBe(5);
  });

  it('rejects an oversize message and an empty message with INVALID_ARGUMENT', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('limits'));
    const big = Buffer.alloc(10 * 1024 * 1024 + 1, 1);
    const error = await topic.publishMessage({ data: big }).catch((e: { code: number; details: string }) => e);
    expect(error).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(String((error as { details?: string }).details)).toMatch(/exceeds the limit/);
    const empty = await topic.publishMessage({ data: Buffer.alloc(0) }).catch((e: { code: number; details: string }) => e);
    expect(empty).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await codeOf(topic.publishMessage({ data: Buffer.alloc(0), attributes: { only: 'attributes' } }))).toBe('resolved');
  });
});
