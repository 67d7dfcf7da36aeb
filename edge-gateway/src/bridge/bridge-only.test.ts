// mqtt.enabled: false — a gateway that only bridges: readings come from the plant's own broker (a real
// Debian mosquitto with mosquitto_pub as the device), and no MQTT port is opened for devices.
import { type AddressInfo, connect as connectTcp, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigSchema } from '../config/index.js';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';
import { type Mosquitto, startMosquitto } from '../test-support/mosquitto.js';
import { until as untilWithin } from '@pdm/pubsub-emulator/testing';

/** A port nothing listens on once the probe server closed. */
async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('a bridge-only gateway (mqtt.enabled: false)', () => {
  let plant: Mosquitto;
  let bed: GatewayTestbed;
  let embeddedPort: number;

  beforeAll(async () => {
    plant = await startMosquitto();
    embeddedPort = await unusedPort();
    bed = await startGatewayTestbed({
      mqtt: { enabled: false, port: embeddedPort },
      bridge: { upstreams: [{ name: 'plant', url: plant.url, mappings: [{ topic: 'plant/{line}/{machine}/{sensor}' }], backoff: { initialMs: 100, maxMs: 100 } }] },
    });
  });
  afterAll(async () => {
    await bed?.close();
    await plant?.close();
  });

  const until = (condition: () => Promise<boolean>, what: string, timeoutMs = 15_000) => untilWithin(condition, what, timeoutMs);

  it('takes readings from the upstream', async () => {
    await until(async () => (await metricValue(bed.gateway, 'pdm_gateway_bridge_connected', 'upstream="plant"')) === 1, 'the bridge connected');
    for (let i = 0; i < 3; i++) await plant.publish('plant/line-1/press-3/temp', JSON.stringify({ value: i, ts: T0 + i * 1_000 }));
    await until(async () => (await metricValue(bed.gateway, 'pdm_gateway_readings_total')) === 3, '3 readings accepted');
    expect(await metricValue(bed.gateway, 'pdm_gateway_mqtt_clients')).toBe(0);
  });

  it('opens no MQTT port for devices', async () => {
    expect(bed.gateway.mqttPort).toBe(0);
    expect(bed.gateway.tlsPort).toBeUndefined();
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const socket = connectTcp(embeddedPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', resolve);
    });
    expect(error?.code).toBe('ECONNREFUSED');
  });

  it('reports a reload as nothing to do', () => {
    expect(bed.gateway.reloadCredentials()).toEqual({ ok: true });
  });
});

describe('the configuration of a bridge-only gateway', () => {
  const problems = (input: Record<string, unknown>) => gatewayConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

  it('needs a bridge upstream, and names the key', () => {
    expect(problems({ mqtt: { enabled: false } })).toEqual(['mqtt.enabled: enabled: false (no embedded broker) needs at least one bridge upstream (bridge.upstreams)']);
    expect(problems({ mqtt: { enabled: false }, bridge: { upstreams: [{ name: 'plant', url: 'mqtt://plant', mappings: [{ topic: 'p/{machine}/{sensor}' }] }] } })).toBeUndefined();
    // The listeners' own rules do not apply to a broker that does not run.
    expect(problems({ mqtt: { enabled: false, plain: false }, bridge: { upstreams: [{ name: 'plant', url: 'mqtt://plant', mappings: [{ topic: 'p/{machine}/{sensor}' }] }] } })).toBeUndefined();
  });
});
