import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator, uniqueId } from './test-support/harness.js';

// GET /stats counts Publish requests and the bytes Google would bill for them: per message its data,
// attribute keys and values, ordering key, 20 bytes of timestamp and its message_id; at least 1,000
// bytes per request (cloud.google.com/pubsub/pricing).
describe('billed publish bytes', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(async () => {
    await t.close();
  });

  const topicStats = async (name: string) => {
    const res = await fetch(`http://${t.emulator.host}:${t.emulator.adminPort}/stats`);
    return ((await res.json()) as { topics: Record<string, { published: number; publishRequests: number; billedPublishBytes: number }> }).topics[name];
  };

  it('bills a small request at the 1,000-byte minimum', async () => {
    const [topic] = await t.client().createTopic(uniqueId('billing-small'));
    await topic.publishMessage({ data: Buffer.from('tiny'), attributes: { k: 'v' } });
    expect(await topicStats(topic.name)).toMatchObject({ published: 1, publishRequests: 1, billedPublishBytes: 1000 });
  });

  it('bills a large request by its message volume, the messages of one request together', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('billing-large'));
    // One request: the client holds messages up to 10 s and flushes at two.
    const batched = pubsub.topic(topic.name, { batching: { maxMessages: 2, maxMilliseconds: 10_000 } });
    const ids = await Promise.all([
      batched.publishMessage({ data: Buffer.alloc(700, 1), attributes: { schema: 'x' } }),
      batched.publishMessage({ data: Buffer.alloc(900, 2) }),
    ]);
    // 700 + 'schema' 6 + 'x' 1 + 20 + id, then 900 + 20 + id.
    const expected = 700 + 7 + 20 + ids[0].length + 900 + 20 + ids[1].length;
    expect(await topicStats(topic.name)).toMatchObject({ published: 2, publishRequests: 1, billedPublishBytes: expected });
  });
});
