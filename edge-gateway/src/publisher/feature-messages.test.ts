// What a reader of the feature topic gets back from either format (windowsOfMessage), which format a
// gateway sends when its configuration does not say, and how its default batches are cut.
import { CloseReason, GatewayHealthSchema, MachineWindowSchema, create, encodeMachineWindow, toBinary, type MachineWindow } from '@pdm/proto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { gatewayConfigSchema } from '../config/index.js';
import type { OutboxEntry } from '../outbox/index.js';
import { featureBatchMessages, singleWindowMessages, windowsOfMessage, type FeatureMessage, type FeatureMessageFormat } from './feature-messages.js';

const SOURCE = { gatewayId: 'gw-1', siteId: 'plant-1' };
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

/** Window n of `machineId` as outbox row `seq`; one temperature unless `more` says otherwise. */
function entry(machineId: string, n: number, seq: number, more: Pick<MessageInitShape<typeof MachineWindowSchema>, 'sensors' | 'closedAt'> = {}): { window: MachineWindow; entry: OutboxEntry } {
  const window = create(MachineWindowSchema, {
    ...SOURCE,
    machineId,
    windowStart: BigInt(T0 + n * 10_000),
    windowEnd: BigInt(T0 + (n + 1) * 10_000),
    featureVersion: 1,
    closeReason: CloseReason.WATERMARK,
    sensors: [{ sensorId: 'temp', count: 10, mean: 61.5 + n, max: 62 + n }],
    ...more,
  });
  const payload = encodeMachineWindow(window);
  return { window, entry: { seq, createdAt: T0, machineId, windowStart: T0 + n * 10_000, featureVersion: 1, revision: 0, payload } };
}

describe('windowsOfMessage', () => {
  const rows = [entry('pump-1', 0, 1), entry('pump-2', 0, 2), entry('pump-1', 1, 3)];

  it('gives back the one window of a single-window message', () => {
    const messages = singleWindowMessages(SOURCE).messages(rows.map((r) => r.entry));
    expect(messages.flatMap(windowsOfMessage)).toEqual(rows.map((r) => r.window));
  });

  it('gives back every window of a batch, in batch order', () => {
    const [batch, ...more] = featureBatchMessages(SOURCE, { shards: 1, maxBytes: 1_000_000 }).messages(rows.map((r) => r.entry));
    expect(more).toEqual([]);
    expect(windowsOfMessage(batch!)).toEqual(rows.map((r) => r.window));
  });

  it('gives nothing for the other messages of the topic (health reports)', () => {
    const health = { data: toBinary(GatewayHealthSchema, create(GatewayHealthSchema, { gatewayId: 'gw-1' })), attributes: { schema: 'pdm.v1.GatewayHealth' } };
    expect(windowsOfMessage(health)).toEqual([]);
  });
});

/** A window of the nominal site's: 8 sensors, every statistic set (~870 bytes encoded). */
function nominalEntry(machineId: string, n: number, seq: number): OutboxEntry {
  const sensors = Array.from({ length: 8 }, (_, s) => ({
    sensorId: `s${s}`,
    count: 1_000,
    expectedCount: 1_000,
    mean: 20.1 + s,
    variance: 0.49,
    std: 0.7,
    min: 18.3,
    max: 21.9,
    rms: 20.2 + s,
    peakToPeak: 3.6,
    skewness: 0.01,
    kurtosis: 2.9,
    crestFactor: 1.08,
  }));
  return entry(machineId, n, seq, { sensors, closedAt: BigInt(T0 + (n + 1) * 10_000 + 1_500) }).entry;
}

/** The rows of `entries` in each ordering key, in outbox order, as the publisher hands them to messages(). */
function byKey(format: FeatureMessageFormat, entries: readonly OutboxEntry[]): OutboxEntry[][] {
  const keys = new Map<string, OutboxEntry[]>();
  for (const entry of entries) {
    const key = format.keyOf(entry);
    keys.set(key, [...(keys.get(key) ?? []), entry]);
  }
  return [...keys.values()];
}

describe('FeatureBatch messages of a gateway with the default configuration', () => {
  const { featureBatches, keyMaxBytesPerSecond } = gatewayConfigSchema.parse({}).pubsub;
  const format = featureBatchMessages(SOURCE, featureBatches);
  const windowBytes = (message: FeatureMessage) => message.entries.reduce((sum, e) => sum + e.payload.byteLength, 0);

  it('sends a 1,000-machine boundary as one batch per shard', () => {
    const boundary = Array.from({ length: 1_000 }, (_, m) => nominalEntry(`machine-${String(m).padStart(4, '0')}`, 0, m + 1));
    const messages = byKey(format, boundary).flatMap((entries) => format.messages(entries));
    expect(messages).toHaveLength(featureBatches.shards);
    expect(messages.flatMap((m) => m.entries)).toHaveLength(1_000);
  });

  // The rate limiter sends a message larger than a second of its key's rate whole (key-rate.ts).
  it('splits a key’s backlog into batches of at most a second of its rate', () => {
    const backlog = Array.from({ length: 600 }, (_, n) => nominalEntry('pump-1', n, n + 1)); // ~520 KB, one key
    const messages = format.messages(backlog);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) expect(windowBytes(message)).toBeLessThanOrEqual(keyMaxBytesPerSecond);
    expect(messages.flatMap((m) => m.entries)).toEqual(backlog);
  });
});

it('a gateway sends FeatureBatch messages unless its configuration turns them off', () => {
  expect(gatewayConfigSchema.parse({}).pubsub.featureBatches.enabled).toBe(true);
  expect(gatewayConfigSchema.parse({ pubsub: { featureBatches: { enabled: false } } }).pubsub.featureBatches.enabled).toBe(false);
});
