import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v1 } from '@google-cloud/pubsub';
import { credentials } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Collector, ONE_STREAM, startTestEmulator, type TestEmulator, uniqueId } from './test-support/harness.js';

describe('persistence with a data dir', () => {
  let dataDir: string;
  const running: TestEmulator[] = [];
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'pubsub-emulator-'));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((t) => t.close()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps topics, subscriptions and unacked messages (with their delivery counts) across a clean stop and start', async () => {
    const first = await startTestEmulator({ dataDir });
    running.push(first);
    const pubsub = first.client();
    const [topic] = await pubsub.createTopic(uniqueId('durable'));
    const [dlq] = await pubsub.createTopic(uniqueId('durable-dlq'));
    const [sub] = await topic.createSubscription(uniqueId('durable-sub'), { deadLetterPolicy: { deadLetterTopic: dlq.name, maxDeliveryAttempts: 5 } });
    for (const d of ['a', 'b', 'c']) await topic.publishMessage({ data: Buffer.from(d), attributes: { d } });
    const raw = new v1.SubscriberClient({ apiEndpoint: first.emulator.host, port: first.emulator.port, sslCreds: credentials.createInsecure() });
    const [pulled] = await raw.pull({ subscription: sub.name, maxMessages: 3 });
    const acked = pulled.receivedMessages?.find((m) => m.message?.data?.toString() === 'a');
    await raw.acknowledge({ subscription: sub.name, ackIds: [acked?.ackId ?? ''] });
    await raw.close();
    const port = first.emulator.port;
    await running.pop()?.close();
    expect(JSON.parse(await readFile(join(dataDir, 'pubsub-state.json'), 'utf8'))).toHaveProperty('version', 1);

    const second = await startTestEmulator({ dataDir, port });
    running.push(second);
    const again = second.client();
    expect((await again.topic(topic.name).exists())[0]).toBe(true);
    const [metadata] = await again.subscription(sub.name).getMetadata();
    expect(metadata.deadLetterPolicy?.deadLetterTopic).toBe(dlq.name);
    const collector = new Collector(again.subscription(sub.name, ONE_STREAM));
    const messages = await collector.waitFor(2);
    expect(messages.map((m) => m.data.toString()).sort()).toEqual(['b', 'c']);
    expect(messages.map((m) => m.attributes['d']).sort()).toEqual(['b', 'c']);
    // They were delivered once before the restart; this is the second attempt.
    expect(messages.map((m) => m.deliveryAttempt)).toEqual([2, 2]);
    await collector.subscription.close();
  });
});
