// The outbox publisher against the Pub/Sub emulator with the official client, on a manual clock: a
// row leaves the outbox only once confirmed, and after a refused publish the publisher waits its
// jittered back-off on the clock, and only then retries, in order.
import { status } from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '@pdm/clock';
import { makeTestDataDir } from '@pdm/influx-harness';
import { Collector, startTestEmulator, type TestEmulator, uniqueId, until } from '@pdm/pubsub-emulator/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox, type OutboxRecord } from '../outbox/index.js';
import { OutboxPublisher } from './publisher.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const record = (n: number): OutboxRecord => ({ machineId: 'pump-1', windowStart: T0 + n * 10_000, featureVersion: 1, revision: 0, payload: Buffer.from(`window ${n}`) });

async function setup() {
  const pubsub: TestEmulator = await startTestEmulator();
  const dir = makeTestDataDir('publisher');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => pubsub.close());
  const client = pubsub.client();
  const [topic] = await client.createTopic(uniqueId('publisher'));
  const [subscription] = await topic.createSubscription(uniqueId('publisher-sub'), { enableMessageOrdering: true });
  const collector = new Collector(client.subscription(subscription.name, { streamingOptions: { maxStreams: 1 } }));
  const clock = new ManualClock(T0);
  const outbox = new Outbox({ path: join(dir, 'outbox.sqlite'), maxBytes: 1_000_000, maxAgeMs: 3_600_000, clock });
  const failures: string[] = [];
  // One batch per pump, so each attempt is one Publish request.
  const publishing = client.topic(topic.name, { messageOrdering: true, batching: { maxMessages: 100, maxMilliseconds: 10 } });
  const publisher = new OutboxPublisher(
    outbox,
    publishing,
    { schema: 'test' },
    // With the random draw pinned at 0.5, each delay is 75 % of the exponential one: 750 ms, then 1.5 s.
    { maxInFlight: 10, backoff: { initialMs: 1_000, multiplier: 2, maxMs: 8_000, jitter: 0.5 } },
    { failed: (_entry, error) => failures.push(error.message) },
    clock,
    () => 0.5,
  );
  cleanups.push(async () => {
    await publisher.stop(0);
    await collector.subscription.close();
    outbox.close();
  });
  return { pubsub, clock, outbox, publisher, collector, failures };
}

describe('OutboxPublisher', () => {
  it('publishes the outbox in order and removes each row once Pub/Sub confirmed it', async () => {
    const { outbox, publisher, collector } = await setup();
    outbox.append([record(0), record(1), record(2)]);
    publisher.notify();
    const messages = await collector.waitFor(3);
    expect(messages.map((m) => [m.data.toString(), m.orderingKey, m.attributes.schema])).toEqual([
      ['window 0', 'pump-1', 'test'],
      ['window 1', 'pump-1', 'test'],
      ['window 2', 'pump-1', 'test'],
    ]);
    await until(() => outbox.stats().depth === 0, 'the confirmed rows removed');
  });

  it('backs off on its clock for the jittered, growing delay after each refused publish, then delivers in order', async () => {
    const { pubsub, clock, outbox, publisher, collector, failures } = await setup();
    pubsub.emulator.failNext('Publish', 2, status.PERMISSION_DENIED);
    outbox.append([record(0), record(1), record(2)]);
    publisher.notify();
    await until(() => publisher.state() === 'backing_off', 'the first back-off');
    expect(failures.length).toBeGreaterThanOrEqual(1);

    clock.advance(749);
    expect(publisher.state()).toBe('backing_off');
    clock.advance(1); // 750 ms: the first retry, refused again
    expect(publisher.state()).toBe('publishing');
    await until(() => publisher.state() === 'backing_off', 'the second back-off');

    clock.advance(1_499);
    expect(publisher.state()).toBe('backing_off');
    clock.advance(1); // 1.5 s: the second retry goes through
    const messages = await collector.waitFor(3);
    expect(messages.map((m) => m.data.toString())).toEqual(['window 0', 'window 1', 'window 2']);
    await until(() => outbox.stats().depth === 0, 'the confirmed rows removed');
    expect(outbox.stats().droppedTotal).toBe(0);
  });

  it('cancels a pending back-off on stop', async () => {
    const { pubsub, clock, outbox, publisher } = await setup();
    pubsub.emulator.failNext('Publish', 1, status.PERMISSION_DENIED);
    outbox.append([record(0)]);
    publisher.notify();
    await until(() => publisher.state() === 'backing_off', 'the back-off');
    expect(clock.pending()).toBe(1);
    await publisher.stop(1_000);
    expect(publisher.state()).toBe('stopped');
    expect(clock.pending()).toBe(0);
    expect(outbox.stats().depth).toBe(1); // unconfirmed: kept for the next start
  });
});
