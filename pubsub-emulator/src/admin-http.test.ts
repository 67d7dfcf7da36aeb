import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator, uniqueId } from './test-support/harness.js';

describe('admin HTTP endpoint', () => {
  let t: TestEmulator;
  let base: string;
  beforeAll(async () => {
    t = await startTestEmulator();
    base = `http://${t.emulator.host}:${t.emulator.adminPort}`;
  });
  afterAll(async () => {
    await t.close();
  });

  it('reports health', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('reports per-subscription counters as JSON', async () => {
    const pubsub = t.client();
    const [topic] = await pubsub.createTopic(uniqueId('stats'));
    const [sub] = await topic.createSubscription(uniqueId('stats-sub'));
    await topic.publishMessage({ data: Buffer.from('counted') });
    const body = (await (await fetch(`${base}/stats`)).json()) as {
      topics: Record<string, { published: number }>;
      subscriptions: Record<string, Record<string, number>>;
    };
    expect(body.topics[topic.name]?.published).toBe(1);
    expect(body.subscriptions[sub.name]).toEqual({
      published: 1, delivered: 0, redelivered: 0, acked: 0, nacked: 0, expired: 0, deadLettered: 0, outstanding: 0, backlog: 1,
    });
  });

  it('answers unknown paths with 404 and other methods with 405', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/stats`, { method: 'POST' })).status).toBe(405);
  });
});
