// What a reader of the feature topic gets back from either format (windowsOfMessage), and which
// format a gateway sends when its configuration does not say.
import { CloseReason, GatewayHealthSchema, MachineWindowSchema, create, encodeMachineWindow, toBinary, type MachineWindow } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { gatewayConfigSchema } from '../config/index.js';
import type { OutboxEntry } from '../outbox/index.js';
import { featureBatchMessages, singleWindowMessages, windowsOfMessage } from './feature-messages.js';

const SOURCE = { gatewayId: 'gw-1', siteId: 'plant-1' };
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

function entry(machineId: string, n: number, seq: number): { window: MachineWindow; entry: OutboxEntry } {
  const window = create(MachineWindowSchema, {
    ...SOURCE,
    machineId,
    windowStart: BigInt(T0 + n * 10_000),
    windowEnd: BigInt(T0 + (n + 1) * 10_000),
    featureVersion: 1,
    closeReason: CloseReason.WATERMARK,
    sensors: [{ sensorId: 'temp', count: 10, mean: 61.5 + n, max: 62 + n }],
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

it('a gateway sends FeatureBatch messages unless its configuration turns them off', () => {
  expect(gatewayConfigSchema.parse({}).pubsub.featureBatches.enabled).toBe(true);
  expect(gatewayConfigSchema.parse({ pubsub: { featureBatches: { enabled: false } } }).pubsub.featureBatches.enabled).toBe(false);
});
