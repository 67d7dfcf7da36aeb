// ReplayPublisher: replayed windows leave as a gateway with the same pubsub.featureBatches sends them.
import { CloseReason, MachineWindowSchema, create, decodeFeatureBatch, decodeMachineWindow, encodeMachineWindow, type MachineWindow } from '@pdm/proto';
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
    const oneWindowBytes = encodeMachineWindow(window('pump-7', 0)).byteLength; // every window here has the same size
    // Room for two windows a batch; 3 shards: pump-7 → 2 and pump-1 → 1 (32-bit FNV-1a, computed apart in Python).
    const publisher = new ReplayPublisher(topic, SOURCE, { enabled: true, shards: 3, maxBytes: 2 * oneWindowBytes + 1, keyMaxBytesPerSecond: 1_000_000 });
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

