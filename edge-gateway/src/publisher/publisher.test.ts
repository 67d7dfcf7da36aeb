// The outbox publisher against the Pub/Sub emulator with the official client, on a manual clock: a
// row leaves the outbox only once confirmed, and after a refused publish the publisher waits its
// jittered back-off on the clock, and only then retries, in order. Windows go out alone or, with
// FeatureBatch messages, together per shard, split by size, and no ordering key faster than its rate.
import { status } from '@grpc/grpc-js';
import type { Topic } from '@google-cloud/pubsub';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@pdm/clock';
import { CloseReason, FeatureBatchSchema, MachineWindowSchema, create, decodeFeatureBatch, encodeMachineWindow, toBinary, type MachineWindow } from '@pdm/proto';
import { makeTestDataDir } from '@pdm/influx-harness';
import { Collector, startTestEmulator, type TestEmulator, uniqueId, until } from '@pdm/pubsub-emulator/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox, type OutboxRecord } from '../outbox/index.js';
import { featureBatchMessages, singleWindowMessages, type FeatureMessageFormat } from './feature-messages.js';
import { OutboxPublisher, type PublisherOptions } from './publisher.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const record = (n: number): OutboxRecord => ({ machineId: 'pump-1', windowStart: T0 + n * 10_000, featureVersion: 1, revision: 0, payload: Buffer.from(`window ${n}`) });

const SOURCE = { gatewayId: 'gw-1', siteId: 'plant-1' };

async function setup(format: FeatureMessageFormat = singleWindowMessages(SOURCE), options: Partial<PublisherOptions> = {}) {
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
    format,
    // With the random draw pinned at 0.5, each delay is 75 % of the exponential one: 750 ms, then 1.5 s.
    { maxInFlight: 10, backoff: { initialMs: 1_000, multiplier: 2, maxMs: 8_000, jitter: 0.5 }, keyMaxBytesPerSecond: 1_000_000, ...options },
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
      ['window 0', 'pump-1', 'pdm.v1.MachineWindow'],
      ['window 1', 'pump-1', 'pdm.v1.MachineWindow'],
      ['window 2', 'pump-1', 'pdm.v1.MachineWindow'],
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

  it('reports an outbox it cannot read instead of throwing (notify runs from timers and confirmations too)', () => {
    // Rows read from the file, not from memory (recentMaxBytes 0); the topic is never reached.
    const dir = makeTestDataDir('publisher-read');
    const clock = new ManualClock(T0);
    const outbox = new Outbox({ path: join(dir, 'outbox.sqlite'), maxBytes: 1_000_000, maxAgeMs: 3_600_000, clock, recentMaxBytes: 0 });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const errors: string[] = [];
    const options = { maxInFlight: 10, backoff: { initialMs: 1_000, multiplier: 2, maxMs: 8_000, jitter: 0.5 }, keyMaxBytesPerSecond: 1_000_000 };
    const publisher = new OutboxPublisher(outbox, {} as Topic, singleWindowMessages(SOURCE), options, { readFailed: (error) => errors.push(error.message) }, clock, () => 0.5);
    outbox.append([record(0)]);
    outbox.close(); // every read now throws, as on an I/O error
    expect(() => publisher.notify()).not.toThrow();
    expect(errors).toEqual([expect.stringMatching(/not open/)]);
  });

  it('starts no back-off for a publish that fails after stop, which would keep the process alive', async () => {
    // A publish that answers only after stop: the emulator cannot hold an answer back, so a topic
    // standing in for the client's that answers when the test says.
    const dir = makeTestDataDir('publisher-stop');
    const clock = new ManualClock(T0);
    const outbox = new Outbox({ path: join(dir, 'outbox.sqlite'), maxBytes: 1_000_000, maxAgeMs: 3_600_000, clock });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => outbox.close());
    let refuse: (error: Error) => void = () => undefined;
    const topic = {
      publishMessage: () => new Promise<string>((_resolve, reject) => (refuse = reject)),
      resumePublishing: () => undefined,
    } as unknown as Topic;
    const options = { maxInFlight: 10, backoff: { initialMs: 1_000, multiplier: 2, maxMs: 8_000, jitter: 0.5 }, keyMaxBytesPerSecond: 1_000_000 };
    const publisher = new OutboxPublisher(outbox, topic, singleWindowMessages(SOURCE), options, {}, clock, () => 0.5);
    outbox.append([record(0)]);
    publisher.notify();
    expect(publisher.inFlightCount()).toBe(1);
    const stopped = publisher.stop(0);
    clock.advance(0); // stop's timeout: it gives up waiting for the answer
    await stopped;
    refuse(new Error('link down'));
    await until(() => publisher.inFlightCount() === 0, 'the failure handled');
    expect(clock.pending()).toBe(0);
    expect(outbox.stats().depth).toBe(1); // kept for the next start
  });
});

/** A real window (the processor decodes batches), as its outbox row. */
function windowRecord(machineId: string, n: number): { window: MachineWindow; record: OutboxRecord } {
  const windowStart = T0 + n * 10_000;
  const window = create(MachineWindowSchema, {
    ...SOURCE,
    machineId,
    windowStart: BigInt(windowStart),
    windowEnd: BigInt(windowStart + 10_000),
    featureVersion: 1,
    closeReason: CloseReason.WATERMARK,
    sensors: [{ sensorId: 'temp', count: 10, mean: 61.5 + n, max: 62 + n }],
  });
  return { window, record: { machineId, windowStart, featureVersion: 1, revision: 0, payload: encodeMachineWindow(window) } };
}

describe('OutboxPublisher with FeatureBatch messages', () => {
  // Shards of 4 by 32-bit FNV-1a of the machine id (computed apart, in Python): pump-2 → 0, fan-9 → 0,
  // pump-1 → 1, pump-3 → 3.
  const batches = (maxBytes = 1_000_000) => featureBatchMessages(SOURCE, { shards: 4, maxBytes });

  it('publishes the windows appended together as one batch per shard, ordering key gateway:shard, and removes them once confirmed', async () => {
    const { outbox, publisher, collector } = await setup(batches());
    const rows = [windowRecord('pump-1', 0), windowRecord('pump-2', 0), windowRecord('fan-9', 0), windowRecord('pump-3', 0), windowRecord('pump-1', 1)];
    outbox.append(rows.map((r) => r.record));
    publisher.notify();
    const messages = (await collector.waitFor(3)).sort((a, b) => (a.orderingKey ?? '').localeCompare(b.orderingKey ?? ''));
    expect(messages.map((m) => [m.orderingKey, m.attributes])).toEqual([
      ['gw-1:0', { schema: 'pdm.v1.FeatureBatch', gateway: 'gw-1', site: 'plant-1' }],
      ['gw-1:1', { schema: 'pdm.v1.FeatureBatch', gateway: 'gw-1', site: 'plant-1' }],
      ['gw-1:3', { schema: 'pdm.v1.FeatureBatch', gateway: 'gw-1', site: 'plant-1' }],
    ]);
    const decoded = messages.map((m) => decodeFeatureBatch(m.data));
    expect(decoded.map((b) => [b.gatewayId, b.siteId, b.shard])).toEqual([
      ['gw-1', 'plant-1', 0],
      ['gw-1', 'plant-1', 1],
      ['gw-1', 'plant-1', 3],
    ]);
    const [p1w0, p2, f9, p3, p1w1] = rows.map((r) => r.window);
    expect(decoded.map((b) => b.windows)).toEqual([[p2, f9], [p1w0, p1w1], [p3]]);
    await until(() => outbox.stats().depth === 0, 'the confirmed rows removed');
    expect(publisher.state()).toBe('idle');
  });

  it('splits a shard’s windows into messages of at most maxBytes, framing included, in order', async () => {
    const rows = [0, 1, 2, 3, 4].map((n) => windowRecord('pump-1', n));
    const size = rows[0]!.record.payload.byteLength;
    expect(rows.every((r) => r.record.payload.byteLength === size)).toBe(true);
    // maxBytes: the length of a batch of two windows as the reference encoder writes it — two fit exactly, three do not.
    const twoWindows = toBinary(FeatureBatchSchema, create(FeatureBatchSchema, { gatewayId: 'gw-1', siteId: 'plant-1', shard: 1, windows: [rows[0]!.window, rows[1]!.window] })).byteLength;
    expect(twoWindows).toBeGreaterThan(2 * size);
    const { outbox, publisher, collector } = await setup(batches(twoWindows));
    outbox.append(rows.map((r) => r.record));
    publisher.notify();
    const messages = await collector.waitFor(3);
    expect(messages.map((m) => m.data.byteLength)).toEqual([twoWindows, twoWindows, expect.any(Number)]);
    expect(messages.map((m) => m.orderingKey)).toEqual(['gw-1:1', 'gw-1:1', 'gw-1:1']);
    expect(messages.map((m) => decodeFeatureBatch(m.data).windows.map((w) => Number(w.windowStart - BigInt(T0)) / 10_000))).toEqual([[0, 1], [2, 3], [4]]);
    await until(() => outbox.stats().depth === 0, 'the confirmed rows removed');
  });

  it('keeps a refused batch in the outbox and sends it again, in order, after the back-off', async () => {
    const { pubsub, clock, outbox, publisher, collector, failures } = await setup(batches());
    pubsub.emulator.failNext('Publish', 1, status.PERMISSION_DENIED);
    outbox.append([windowRecord('pump-1', 0).record, windowRecord('pump-1', 1).record]);
    publisher.notify();
    await until(() => publisher.state() === 'backing_off', 'the back-off');
    expect(failures).toHaveLength(2); // one per window of the refused batch
    outbox.append([windowRecord('pump-1', 2).record]);
    publisher.notify(); // its shard is paused: it waits behind the refused batch
    clock.advance(750);
    const messages = await collector.waitFor(1);
    expect(messages.flatMap((m) => decodeFeatureBatch(m.data).windows.map((w) => Number(w.windowStart - BigInt(T0)) / 10_000))).toEqual([0, 1, 2]);
    await until(() => outbox.stats().depth === 0, 'the confirmed rows removed');
  });
});

describe('OutboxPublisher rate per ordering key', () => {
  it('holds a key that reached its byte rate on the clock, and only that key', async () => {
    // 20 bytes/s, a bucket of 20 bytes; each row is 8 bytes: two go at once (4 bytes left), the third
    // needs 4 more bytes, 200 ms of the rate.
    const { clock, outbox, publisher, collector } = await setup(singleWindowMessages(SOURCE), { keyMaxBytesPerSecond: 20 });
    outbox.append([record(0), record(1), record(2), { ...record(3), machineId: 'pump-2' }]);
    publisher.notify();
    const first = await collector.waitFor(3);
    expect(first.map((m) => [m.orderingKey, m.data.toString()]).sort()).toEqual([
      ['pump-1', 'window 0'],
      ['pump-1', 'window 1'],
      ['pump-2', 'window 3'],
    ]);
    await until(() => outbox.stats().depth === 1, 'the three confirmed rows removed');
    expect(publisher.state()).toBe('publishing');
    clock.advance(199);
    expect(outbox.stats().depth).toBe(1);
    expect(publisher.inFlightCount()).toBe(0);
    clock.advance(1);
    expect(publisher.inFlightCount()).toBe(1);
    const all = await collector.waitFor(4);
    expect(all.filter((m) => m.orderingKey === 'pump-1').map((m) => m.data.toString())).toEqual(['window 0', 'window 1', 'window 2']);
    await until(() => outbox.stats().depth === 0, 'the last row removed');
  });
});

describe('OutboxPublisher reads of the outbox while keys are held', () => {
  // 100 B/s per key; rows of 10 bytes, machines a and b interleaved, 50 rows each; a topic that confirms at once.
  function setupReads(maxInFlight: number) {
    const dir = mkdtempSync(join(tmpdir(), 'publisher-reads-'));
    const clock = new ManualClock(T0);
    const outbox = new Outbox({ path: join(dir, 'outbox.sqlite'), maxBytes: 1_000_000, maxAgeMs: 3_600_000, clock });
    const sent: string[] = [];
    const topic = {
      publishMessage: ({ data, orderingKey }: { data: Buffer; orderingKey: string }) => {
        sent.push(`${orderingKey} ${data.toString()}`);
        return Promise.resolve('id');
      },
      resumePublishing: () => undefined,
    } as unknown as Topic;
    const publisher = new OutboxPublisher(outbox, topic, singleWindowMessages(SOURCE), { maxInFlight, backoff: { initialMs: 1_000, multiplier: 2, maxMs: 8_000, jitter: 0 }, keyMaxBytesPerSecond: 100 }, {}, clock);
    cleanups.push(async () => {
      await publisher.stop(0);
      outbox.close();
      rmSync(dir, { recursive: true, force: true });
    });
    outbox.append(Array.from({ length: 50 }, (_, n) => [row('a', n), row('b', n)]).flat());
    const reads = { rows: 0 };
    const peek = outbox.peek.bind(outbox);
    outbox.peek = (afterSeq, limit) => {
      const rows = peek(afterSeq, limit);
      reads.rows += rows.length;
      return rows;
    };
    return { clock, outbox, publisher, sent, reads };
  }
  const row = (machine: string, n: number): OutboxRecord => ({ machineId: machine, windowStart: T0 + n * 10_000, featureVersion: 1, revision: 0, payload: Buffer.from(`${machine}-row-${String(n).padStart(4, '0')}`) });
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('reads each row once ahead and each held row once more when it may go, not the whole outbox per call', async () => {
    // The first call reads the 100 rows: each key sends 10 (its bucket of 100 bytes) and keeps 40. A
    // key sends its kept rows a second of its rate at a time (10 rows) when its bucket is full again,
    // at 1, 2, 3 and 4 s, each read once more: 100 + 80 = 180 rows read.
    const { clock, outbox, publisher, sent, reads } = setupReads(1_000);
    publisher.notify();
    await settle();
    expect(sent).toHaveLength(20);
    expect(reads.rows).toBe(100);
    for (let second = 1; second <= 4; second++) {
      clock.advance(999);
      await settle();
      expect(sent).toHaveLength(20 * second);
      clock.advance(1);
      await settle();
      expect(sent).toHaveLength(20 * (second + 1));
    }
    expect(reads.rows).toBe(180);
    await settle();
    expect(outbox.stats().depth).toBe(0);
    const expected = (machine: string) => Array.from({ length: 50 }, (_, n) => `${machine} ${machine}-row-${String(n).padStart(4, '0')}`);
    expect(sent.filter((m) => m.startsWith('a '))).toEqual(expected('a'));
    expect(sent.filter((m) => m.startsWith('b '))).toEqual(expected('b'));
  });

  it('reads at most maxInFlight rows a call, the rest in later turns of the event loop', async () => {
    // maxInFlight 30: the first call reads rows 1-30 (15 of each key), sends 10 of each and keeps 5,
    // and stops; the other 70 rows are read in later turns, kept behind the held keys.
    const { publisher, sent, reads } = setupReads(30);
    publisher.notify();
    expect(reads.rows).toBe(30);
    expect(sent).toHaveLength(20);
    for (let turn = 0; turn < 5; turn++) await settle();
    expect(reads.rows).toBe(100);
    expect(sent).toHaveLength(20);
  });
});

describe('OutboxPublisher deletes of confirmed rows', () => {
  /**
   * A publisher over an outbox of `maxBytes` whose Pub/Sub settles each message when told, by its
   * ordering key (a machine id): confirmed, or refused with an error.
   */
  function setupSettled(maxBytes = 1_000_000) {
    const dir = mkdtempSync(join(tmpdir(), 'publisher-deletes-'));
    const path = join(dir, 'outbox.sqlite');
    const clock = new ManualClock(T0);
    const dropped: Array<[number, string]> = [];
    const outbox = new Outbox({ path, maxBytes, maxAgeMs: 3_600_000, clock, onDrop: (rows, bound) => dropped.push([rows, bound]) });
    const settleMessage = new Map<string, (error?: Error) => void>();
    const topic = {
      publishMessage: ({ orderingKey }: { orderingKey: string }) =>
        new Promise<string>((resolve, reject) => settleMessage.set(orderingKey, (error) => (error ? reject(error) : resolve('id')))),
      resumePublishing: () => undefined,
    } as unknown as Topic;
    const publisher = new OutboxPublisher(outbox, topic, singleWindowMessages(SOURCE), { maxInFlight: 100, backoff: { initialMs: 1_000, multiplier: 2, maxMs: 8_000, jitter: 0 }, keyMaxBytesPerSecond: 1_000_000 }, {}, clock);
    // A second connection sees only what the outbox committed to its file.
    const file = new Database(path, { readonly: true });
    const committedRows = () => (file.prepare('SELECT machine_id FROM outbox ORDER BY seq').all() as Array<{ machine_id: string }>).map((row) => row.machine_id);
    cleanups.push(async () => {
      for (const settle of settleMessage.values()) settle(); // stop waits for the messages out
      await publisher.stop(0);
      file.close();
      outbox.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const settled = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    };
    const row = (machineId: string, n = 0, bytes = 100): OutboxRecord => ({ ...record(n), machineId, payload: Buffer.alloc(bytes, n) });
    return { clock, outbox, publisher, settleMessage, committedRows, dropped, settled, row };
  }

  it('commits the deletes of the rows confirmed in one pass in one transaction once every message of it settled, not one per confirmation', async () => {
    const { outbox, publisher, settleMessage, committedRows, settled, row } = setupSettled();
    // Three machines: three messages (ordering key = machine id) in one pass.
    outbox.append([row('pump-1'), row('pump-2'), row('pump-3')]);
    publisher.notify();
    expect([...settleMessage.keys()]).toEqual(['pump-1', 'pump-2', 'pump-3']);

    settleMessage.get('pump-1')!();
    await settled();
    expect(committedRows()).toEqual(['pump-1', 'pump-2', 'pump-3']); // confirmed, its delete waits for the others
    settleMessage.get('pump-2')!(new Error('refused'));
    await settled();
    expect(committedRows()).toEqual(['pump-1', 'pump-2', 'pump-3']);
    settleMessage.get('pump-3')!();
    await settled();
    // The confirmed ones go together; the refused one stays for its retry.
    expect(committedRows()).toEqual(['pump-2']);
    expect(outbox.stats()).toMatchObject({ depth: 1, bytes: 100 });
  });

  it.each([
    ['after the confirmed ones', ['pump-a', 'pump-b', 'pump-c']],
    ['before the confirmed ones', ['pump-c', 'pump-a', 'pump-b']],
  ])('counts a confirmed row as gone while its pass waits for a message, and never drops it or a row in flight at the bound (the unconfirmed one %s)', async (_order, machines) => {
    const { outbox, publisher, settleMessage, dropped, settled, row } = setupSettled(1_000);
    outbox.append(machines.map((machine) => row(machine)));
    publisher.notify();
    settleMessage.get('pump-a')!();
    settleMessage.get('pump-b')!();
    await settled(); // pump-c's message is still out
    expect(outbox.stats()).toMatchObject({ depth: 1, bytes: 100 });
    // 9 rows of 100 bytes: under the bound of 1,000 once the two confirmed ones are gone.
    outbox.append([1, 2, 3, 4, 5, 6, 7, 8].map((n) => row('pump-d', n)));
    expect(dropped).toEqual([]);
    expect(outbox.stats()).toMatchObject({ depth: 9, bytes: 900 });
    expect(outbox.peek(0, 20).map((e) => e.machineId)).toEqual(['pump-c', ...Array<string>(8).fill('pump-d')]);
  });

  it('commits the deletes of a pass waiting for a message at most a second after a confirmation', async () => {
    const { clock, outbox, publisher, settleMessage, committedRows, settled, row } = setupSettled();
    outbox.append([row('pump-1'), row('pump-2')]);
    publisher.notify();
    settleMessage.get('pump-1')!();
    await settled();
    clock.advance(999);
    expect(committedRows()).toEqual(['pump-1', 'pump-2']);
    clock.advance(1);
    expect(committedRows()).toEqual(['pump-2']);
  });

  it('commits the deletes of the confirmed rows when it stops with a message of their pass still out', async () => {
    const { clock, outbox, publisher, settleMessage, committedRows, settled, row } = setupSettled();
    outbox.append([row('pump-1'), row('pump-2'), row('pump-3')]);
    publisher.notify();
    settleMessage.get('pump-1')!();
    settleMessage.get('pump-2')!();
    await settled();
    const stopping = publisher.stop(10);
    clock.advance(10);
    await stopping;
    expect(committedRows()).toEqual(['pump-3']);
  });
});
