// A running gateway's health report goes out on its feature topic, beside the windows, with the
// contract attributes and no ordering key, and without passing through the outbox.
import { GatewayHealthSchema, fromBinary } from '@pdm/proto';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';

describe('gateway health report on Pub/Sub', () => {
  let bed: GatewayTestbed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('publishes GatewayHealth with the gateway’s figures on the feature topic, bypassing the outbox', async () => {
    bed = await startGatewayTestbed();
    const mqtt = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
    for (let i = 0; i < 5; i++) await mqtt.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: T0 + i * 1000, value: 60 + i }), { qos: 1 });
    await mqtt.publishAsync('sensors/pump-1/temp', '{"value": oops', { qos: 1 });
    await mqtt.endAsync();
    bed.clock.advance(2_000);

    const sent = await bed.gateway.reportHealth();
    const [message] = await bed.collector.waitFor(1);
    expect(message!.attributes).toEqual({ schema: 'pdm.v1.GatewayHealth', gateway: 'gw-test', site: 'plant-test' });
    expect(message!.orderingKey).toBe('');
    const health = fromBinary(GatewayHealthSchema, message!.data);
    expect(health).toEqual(sent);
    expect(health).toMatchObject({ gatewayId: 'gw-test', siteId: 'plant-test', reportedAt: BigInt(T0 + 2_000), startedAt: BigInt(T0), outboxDepth: 0n });
    expect(health.readingsAccepted).toBe(5n);
    expect(health.readingsAccepted).toBe(BigInt(await metricValue(bed.gateway, 'pdm_gateway_readings_total')));
    expect(health.rejectedByReason).toEqual({ bad_json: 1n });
    expect(health.openWindows).toBe(1);
    expect(bed.gateway.outbox.stats().depth).toBe(0);
    expect(await metricValue(bed.gateway, 'pdm_gateway_published_total')).toBe(0); // not a window
  });
});
