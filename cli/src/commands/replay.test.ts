// `pdm replay --publish`: every window of the CSV goes to Pub/Sub (here the emulator, through the
// official client) with the contract's attributes, ordered by machine, and without a close time.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { MachineWindowSchema, fromBinary } from '@pdm/proto';
import { Collector, PROJECT, startTestEmulator, uniqueId } from '@pdm/pubsub-emulator/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';

const dir = makeTestDataDir('replay-publish');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pdm replay --publish', () => {
  it('publishes each window with the contract attributes, ordered by machine', async () => {
    const pubsub = await startTestEmulator();
    try {
      const client = pubsub.client();
      const [topic] = await client.createTopic(uniqueId('replay'));
      const [subscription] = await topic.createSubscription(uniqueId('replay-sub'), { enableMessageOrdering: true });
      const collector = new Collector(client.subscription(subscription.name));
      const csv = join(dir, 'pump-7.csv');
      const rows = Array.from({ length: 30 }, (_, i) => `${new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()},${i}`);
      writeFileSync(csv, ['time,temp', ...rows].join('\n'));

      const err: string[] = [];
      const context = { out: () => {}, err: (line: string) => err.push(line), waitForStop: () => new Promise<NodeJS.Signals>(() => {}) };
      const args = ['replay', '--input', csv, '--publish', '--topic', topic.name.split('/').pop()!, '--project', PROJECT];
      expect(await main([...args, '--emulator-host', pubsub.emulator.endpoint, '--gateway', 'gw-r', '--site', 'plant-r'], context)).toBe(0);

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
});
