// ReplayPublisher: replayed windows leave as a gateway with the same pubsub.featureBatches sends them.
import { CloseReason, FeatureBatchSchema, MachineWindowSchema, create, decodeFeatureBatch, decodeMachineWindow, encodeMachineWindow, toBinary, type MachineWindow } from '@pdm/proto';
import { ManualClock } from '@pdm/clock';
import { describe, expect, it } from 'vitest';
import { ReplayPublisher } from './publish-windows.js';

const SOURCE = { gatewayId: 'gw-r', siteId: 'plant-r' };
const T0 = Date.UTC(2026, 0, 1);

const window = (machineId: string, n: number): MachineWindow =>
  create(MachineWindowSchema, {
    ...SOURCE,
    machineId,
    windowStart: BigInt(T0 + n * 10_000),
    windowEnd: BigInt(T0 + (n + 1) * 10_000),
    featureVersion: 1,
    closeReason: CloseReason.WATERMARK,
    sensors: [{ sensorId: 'temp', count: 10, mean: 1 + n }],
  });

/** A topic that records what is published, in order. */
function recordingTopic() {
  const sent: Array<{ data: Buffer; attributes: Record<string, string>; orderingKey: string }> = [];
  return {
    sent,
    publishMessage: (message: { data: Buffer; attributes: Record<string, string>; orderingKey: string }) => (sent.push(message), Promise.resolve(String(sent.length))),
  };
}

const startsOf = (windows: readonly MachineWindow[]) => windows.map((w) => `${w.machineId}@${(Number(w.windowStart) - T0) / 10_000}`);

describe('ReplayPublisher', () => {
  it('with batches, holds a shard’s windows until a batch is full and sends the rest on flush, ordering key gateway:shard', async () => {
    const topic = recordingTopic();
    // Room for two windows a batch, framing included: a batch of two as the reference encoder writes it
    // (every window here has the same size); 3 shards: pump-7 → 2 and pump-1 → 1 (32-bit FNV-1a, computed apart in Python).
    const twoWindows = toBinary(FeatureBatchSchema, create(FeatureBatchSchema, { ...SOURCE, shard: 2, windows: [window('pump-7', 0), window('pump-7', 1)] })).byteLength;
    const publisher = new ReplayPublisher(topic, SOURCE, { enabled: true, shards: 3, maxBytes: twoWindows, keyMaxBytesPerSecond: 1_000_000 });
    for (let n = 0; n < 5; n++) await publisher.add(window('pump-7', n));
    await publisher.add(window('pump-1', 0));
    expect(topic.sent.map((m) => m.orderingKey)).toEqual(['gw-r:2', 'gw-r:2']); // two full batches; the fifth window is held
    await publisher.flush();
    expect(topic.sent.map((m) => [m.orderingKey, m.attributes.schema])).toEqual([
      ['gw-r:2', 'pdm.v1.FeatureBatch'],
      ['gw-r:2', 'pdm.v1.FeatureBatch'],
      ['gw-r:2', 'pdm.v1.FeatureBatch'],
      ['gw-r:1', 'pdm.v1.FeatureBatch'],
    ]);
    const batches = topic.sent.map((m) => decodeFeatureBatch(m.data));
    expect(batches.map((b) => [b.shard, startsOf(b.windows)])).toEqual([
      [2, ['pump-7@0', 'pump-7@1']],
      [2, ['pump-7@2', 'pump-7@3']],
      [2, ['pump-7@4']],
      [1, ['pump-1@0']],
    ]);
    expect(batches[0]!.windows[1]).toEqual(window('pump-7', 1));
    expect(topic.sent.map((m) => m.data.byteLength).slice(0, 2)).toEqual([twoWindows, twoWindows]);

    // A byte less and two windows no longer fit: counted by their bytes alone, they would (maxBytes
    // counted window bytes until 2026-12-07, and a full batch ran over it by its framing).
    const tighter = recordingTopic();
    const oneEach = new ReplayPublisher(tighter, SOURCE, { enabled: true, shards: 3, maxBytes: twoWindows - 1, keyMaxBytesPerSecond: 1_000_000 });
    for (let n = 0; n < 3; n++) await oneEach.add(window('pump-7', n));
    await oneEach.flush();
    expect(tighter.sent.map((m) => decodeFeatureBatch(m.data).windows.length)).toEqual([1, 1, 1]);
    expect(tighter.sent.every((m) => m.data.byteLength <= twoWindows - 1)).toBe(true);
    expect(publisher.messages).toBe(4);
  });

  it('with batches off, publishes each window at once as a MachineWindow, ordering key = machine', async () => {
    const topic = recordingTopic();
    const publisher = new ReplayPublisher(topic, SOURCE, { enabled: false, shards: 8, maxBytes: 1_000_000, keyMaxBytesPerSecond: 1_000_000 });
    await publisher.add(window('pump-7', 0));
    await publisher.add(window('pump-7', 1));
    expect(topic.sent.map((m) => [m.orderingKey, m.attributes])).toEqual([
      ['pump-7', { schema: 'pdm.v1.MachineWindow', gateway: 'gw-r', site: 'plant-r' }],
      ['pump-7', { schema: 'pdm.v1.MachineWindow', gateway: 'gw-r', site: 'plant-r' }],
    ]);
    await publisher.flush();
    expect(topic.sent.map((m) => decodeMachineWindow(m.data))).toEqual([window('pump-7', 0), window('pump-7', 1)]);
  });

  it('keeps each ordering key under keyMaxBytesPerSecond, on its clock, as the gateway does', async () => {
    const clock = new ManualClock(T0);
    const sentAt: number[] = [];
    const topic = { publishMessage: () => (sentAt.push(clock.now() - T0), Promise.resolve('id')) };
    const bytes = encodeMachineWindow(window('pump-7', 0)).byteLength; // every window here has the same size
    const publisher = new ReplayPublisher(topic, SOURCE, { enabled: false, shards: 8, maxBytes: 1_000_000, keyMaxBytesPerSecond: 4 * bytes }, clock);
    const replayed = (async () => {
      for (let n = 0; n < 6; n++) await publisher.add(window('pump-7', n));
    })();
    for (let t = 0; t < 1_000; t += 50) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(50);
    }
    await replayed;
    // A bucket of four windows a second, full at the start: four at once, then one every quarter second.
    expect(sentAt).toEqual([0, 0, 0, 0, 250, 500]);
  });
});

