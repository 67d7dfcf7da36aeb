// A gateway with pubsub.featureBatches on (the default): the windows it closes in one tick leave as one
// pdm.v1.FeatureBatch per shard of its machines, ordering key "<gateway>:<shard>", and the outbox
// empties once Pub/Sub confirmed them; the rows stay windows (the outbox and its counts are per window).
import { connectAsync, type MqttClient } from 'mqtt';
import { CloseReason, decodeFeatureBatch } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from './test-support/gateway-harness.js';

describe('edge gateway with FeatureBatch messages', () => {
  let bed: GatewayTestbed;
  let mqtt: MqttClient;
  beforeEach(async () => {
    bed = await startGatewayTestbed({ pubsub: { featureBatches: { shards: 4 } } });
    mqtt = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
  });
  afterEach(async () => {
    await mqtt.endAsync();
    await bed.close();
  });

  it('publishes the windows closed in one tick as one batch per shard, and empties the outbox once confirmed', async () => {
    // Shards of 4 by FNV-1a (values in shard.test.ts): pump-2 → 0, fan-9 → 0, pump-1 → 1, pump-3 → 3.
    const machines = ['pump-1', 'pump-2', 'fan-9', 'pump-3'];
    for (const [i, machine] of machines.entries()) await mqtt.publishAsync(`sensors/${machine}/temp`, JSON.stringify({ ts: T0 + 1000, value: 40 + i }), { qos: 1 });
    bed.clock.advance(30_000); // the idle timeout closes every machine's window in the next tick
    bed.gateway.tick();
    await until(() => bed.collector.messages.length === 3, 'three batches');
    const messages = [...bed.collector.messages].sort((a, b) => (a.orderingKey ?? '').localeCompare(b.orderingKey ?? ''));
    expect(messages.map((m) => [m.orderingKey, m.attributes.schema])).toEqual([
      ['gw-test:0', 'pdm.v1.FeatureBatch'],
      ['gw-test:1', 'pdm.v1.FeatureBatch'],
      ['gw-test:3', 'pdm.v1.FeatureBatch'],
    ]);
    const batches = messages.map((m) => decodeFeatureBatch(m.data));
    expect(batches.map((b) => [b.gatewayId, b.siteId, b.shard, b.windows.map((w) => w.machineId).sort()])).toEqual([
      ['gw-test', 'plant-test', 0, ['fan-9', 'pump-2']],
      ['gw-test', 'plant-test', 1, ['pump-1']],
      ['gw-test', 'plant-test', 3, ['pump-3']],
    ]);
    const window = batches[1]!.windows[0]!;
    expect(window).toMatchObject({ gatewayId: 'gw-test', siteId: 'plant-test', closeReason: CloseReason.IDLE_TIMEOUT, windowStart: BigInt(T0) });
    expect(window.sensors).toMatchObject([{ sensorId: 'temp', count: 1, mean: 40 }]);
    await until(() => bed.gateway.outbox.stats().depth === 0, 'the outbox emptied');
    expect(await metricValue(bed.gateway, 'pdm_gateway_published_total')).toBe(4);
  });

  it("says at start when the shards or the message kind changed since the last start: a machine's ordering key moved", async () => {
    const lines: { msg: string; before?: string; now?: string }[] = [];
    const capturing = () => pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
    const changes = () => lines.filter((l) => l.msg.startsWith("the windows' ordering keys changed"));
    await mqtt.endAsync();
    await bed.restartGateway({}, capturing());
    expect(changes()).toEqual([]); // the same 4 shards
    await bed.restartGateway({ pubsub: { featureBatches: { shards: 8 } } }, capturing());
    expect(changes()).toMatchObject([{ before: 'FeatureBatch messages of 4 shards', now: 'FeatureBatch messages of 8 shards' }]);
    await bed.restartGateway({ pubsub: { featureBatches: { enabled: false } } }, capturing());
    expect(changes().map((l) => [l.before, l.now])).toEqual([
      ['FeatureBatch messages of 4 shards', 'FeatureBatch messages of 8 shards'],
      ['FeatureBatch messages of 8 shards', 'one MachineWindow per message'],
    ]);
    mqtt = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
  });
});
