// `pdm replay --publish`: every window of the CSV goes to Pub/Sub (here the emulator, through the
// official client) with the contract's attributes and without a close time, as a gateway would send
// it: in FeatureBatch messages by default, one MachineWindow per message ordered by machine when the
// gateway configuration turns batches off.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { MachineWindowSchema, decodeFeatureBatch, fromBinary } from '@pdm/proto';
import { Collector, PROJECT, startTestEmulator, uniqueId, type TestEmulator } from '@pdm/pubsub-emulator/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';

const dir = makeTestDataDir('replay-publish');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CSV of pump-7 with 30 one-second readings of temp: three 10 s windows. */
function pump7Csv(): string {
  const csv = join(dir, 'pump-7.csv');
  const rows = Array.from({ length: 30 }, (_, i) => `${new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()},${i}`);
  writeFileSync(csv, ['time,temp', ...rows].join('\n'));
  return csv;
}

/**
 * Runs `pdm replay --publish` of pump7Csv() as gateway gw-r of site plant-r (with `extraArgs`) into a new
 * topic on `pubsub`; returns the collector of an ordered subscription to it and what pdm printed on stderr.
 */
async function replayPublish(pubsub: TestEmulator, extraArgs: string[] = []): Promise<{ collector: Collector; err: string[] }> {
  const client = pubsub.client();
  const [topic] = await client.createTopic(uniqueId('replay'));
  const [subscription] = await topic.createSubscription(uniqueId('replay-sub'), { enableMessageOrdering: true });
  const collector = new Collector(client.subscription(subscription.name));
  const err: string[] = [];
  const context = { out: () => {}, err: (line: string) => err.push(line), waitForStop: () => new Promise<NodeJS.Signals>(() => {}) };
  const args = ['replay', '--input', pump7Csv(), '--publish', '--topic', topic.name.split('/').pop()!, '--project', PROJECT, ...extraArgs];
  expect(await main([...args, '--emulator-host', pubsub.emulator.endpoint, '--gateway', 'gw-r', '--site', 'plant-r'], context)).toBe(0);
  return { collector, err };
}

describe('pdm replay --publish', () => {
  it('publishes the windows in one FeatureBatch by default, ordering key gateway:shard', async () => {
    const pubsub = await startTestEmulator();
    try {
      const { collector, err } = await replayPublish(pubsub);

      // pdm returned only after every Publish was answered, so the emulator's count is final: one message.
      expect(pubsub.emulator.stats().subscriptions[collector.subscription.name]?.published).toBe(1);
      const [message] = await collector.waitFor(1);
      expect(collector.messages).toHaveLength(1);
      // pump-7 is in shard 7 of the default 8 (32-bit FNV-1a of its id, computed apart in Python).
      expect([message!.attributes, message!.orderingKey]).toEqual([{ schema: 'pdm.v1.FeatureBatch', gateway: 'gw-r', site: 'plant-r' }, 'gw-r:7']);
      const batch = decodeFeatureBatch(message!.data);
      expect([batch.gatewayId, batch.siteId, batch.shard]).toEqual(['gw-r', 'plant-r', 7]);
      expect(batch.windows.map((w) => [Number(w.windowStart) - Date.UTC(2026, 0, 1), w.sensors[0]?.count])).toEqual([
        [0, 10],
        [10_000, 10],
        [20_000, 10],
      ]);
      expect(err.join('\n')).toMatch(/30 rows.*3 windows/);
      await collector.subscription.close();
    } finally {
      await pubsub.close();
    }
  });

  it('publishes each window alone, ordered by machine, when the gateway configuration turns batches off', async () => {
    const pubsub = await startTestEmulator();
    try {
      const gatewayConfig = join(dir, 'gateway.json');
      writeFileSync(gatewayConfig, JSON.stringify({ pubsub: { featureBatches: { enabled: false } } }));
      const { collector, err } = await replayPublish(pubsub, ['--gateway-config', gatewayConfig]);

      const messages = await collector.waitFor(3);
      expect(messages.map((m) => [m.attributes, m.orderingKey])).toEqual(
        Array.from({ length: 3 }, () => [{ schema: 'pdm.v1.MachineWindow', gateway: 'gw-r', site: 'plant-r' }, 'pump-7']),
      );
      const windows = messages.map((m) => fromBinary(MachineWindowSchema, m.data));
      expect(windows.map((w) => [Number(w.windowStart) - Date.UTC(2026, 0, 1), w.sensors[0]?.count])).toEqual([
        [0, 10],
        [10_000, 10],
        [20_000, 10],
      ]);
      expect(windows.every((w) => w.closedAt === 0n)).toBe(true); // a replay has no close time
      expect(err.join('\n')).toMatch(/30 rows.*3 windows/);
      await collector.subscription.close();
    } finally {
      await pubsub.close();
    }
  });

  it('refuses a gateway configuration that does not validate, naming the option and the key', async () => {
    const gatewayConfig = join(dir, 'bad-gateway.json');
    writeFileSync(gatewayConfig, JSON.stringify({ pubsub: { featureBatches: { shards: 0 } } }));
    const err: string[] = [];
    const context = { out: () => {}, err: (line: string) => err.push(line), waitForStop: () => new Promise<NodeJS.Signals>(() => {}) };
    const args = ['replay', '--input', pump7Csv(), '--publish', '--topic', 'features', '--emulator-host', '127.0.0.1:1', '--gateway-config', gatewayConfig];
    expect(await main(args, context)).toBe(2);
    expect(err.join('\n')).toMatch(/--gateway-config: [\s\S]*pubsub\.featureBatches\.shards: Too small/);
  });
});
