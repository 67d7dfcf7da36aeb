// Sparkplug B through the bridge across a dropped upstream connection, with a real mosquitto and an
// Eclipse Tahu edge node: births and data published while the bridge is away are lost (QoS 0), a
// rebirth with other aliases among them, so the data after the reconnect waits for a Rebirth the
// gateway asks for, and is then read with the new aliases.
import { connectAsync } from 'mqtt';
import { type UPayload, newClient } from 'sparkplug-client';
import { until as untilWithin } from '@pdm/pubsub-emulator/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';
import { answerRebirths } from '../test-support/sparkplug-edge-node.js';
import { type Mosquitto, startMosquitto } from '../test-support/mosquitto.js';

/** A broker round trip or a bridge reconnect (back-off 100 ms), on a busy box too. */
const until = (condition: () => Promise<boolean>, what: string) => untilWithin(condition, what, 15_000);

describe('Sparkplug B through the bridge across a dropped upstream connection', () => {
  let plant: Mosquitto;
  let bed: GatewayTestbed;
  let edgeNode: ReturnType<typeof newClient>;
  const rebirthRequests: UPayload[] = [];
  /** The aliases of press-3's metrics in the edge node's births: its next births may number them otherwise. */
  let aliases = { temp: 10, pressure: 11 };

  beforeEach(async () => {
    rebirthRequests.length = 0;
    aliases = { temp: 10, pressure: 11 };
    plant = await startMosquitto();
    bed = await startGatewayTestbed({ bridge: { upstreams: [{ name: 'plant', url: plant.url, sparkplug: true, backoff: { initialMs: 100, maxMs: 100 } }] } });
    await until(async () => (await connected()) === 1, 'the bridge subscribed');
    edgeNode = newClient({ serverUrl: plant.url, username: '', password: '', groupId: 'plant', edgeNode: 'edge-1', clientId: 'edge-1', publishDeath: true, version: 'spBv1.0' });
    answerRebirths(edgeNode, publishBirths, rebirthRequests);
    await until(async () => (await messages('DBIRTH', 'registered')) === 1, 'the births registered');
  });

  afterEach(async () => {
    edgeNode.stop();
    await bed.close();
    await plant.close();
  });

  const connected = () => metricValue(bed.gateway, 'pdm_gateway_bridge_connected', 'upstream="plant"');
  const messages = (type: string, outcome: string) => metricValue(bed.gateway, 'pdm_gateway_sparkplug_messages_total', `type="${type}",outcome="${outcome}"`);

  /** NBIRTH, then press-3's DBIRTH: temp 20 and pressure 1 at T0, under the current aliases. */
  function publishBirths(): void {
    edgeNode.publishNodeBirth({ timestamp: T0, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: false }] });
    edgeNode.publishDeviceBirth('press-3', {
      timestamp: T0,
      metrics: [
        { name: 'temp', alias: aliases.temp, type: 'Double', value: 20, timestamp: T0 },
        { name: 'pressure', alias: aliases.pressure, type: 'Double', value: 1, timestamp: T0 },
      ],
    });
  }

  /** press-3's DDATA by alias only, at T0 + second s. */
  function publishData(second: number, values: { temp: number; pressure: number }): void {
    const timestamp = T0 + second * 1000;
    edgeNode.publishDeviceData('press-3', {
      timestamp,
      metrics: [
        { alias: aliases.temp, type: 'Double', value: values.temp, timestamp },
        { alias: aliases.pressure, type: 'Double', value: values.pressure, timestamp },
      ],
    });
  }

  it('reads the data after a reconnect with the aliases of the births it asks for, not those from before the gap', async () => {
    // Another client takes the bridge's session (same client id): mosquitto drops the bridge, and
    // what is published until the bridge is back does not reach it.
    const taker = await connectAsync(plant.url, { clientId: 'pdm-gw-test-plant', clean: false, reconnectPeriod: 0 });
    await until(async () => (await connected()) === 0, 'the bridge dropped');
    const rebornMeanwhile = new Promise<void>((resolve) => taker.on('message', (topic) => topic.endsWith('/DBIRTH/edge-1/press-3') && resolve()));
    // The edge node is born again meanwhile (another host asked, say), numbering its metrics otherwise;
    // Tahu counts seq from 0 again, so its next DDATA carries the seq the gateway expects.
    aliases = { temp: 11, pressure: 10 };
    publishBirths();
    await rebornMeanwhile;
    await taker.endAsync();
    bed.clock.advance(100); // the bridge's back-off: it reconnects
    await until(async () => (await connected()) === 1, 'the bridge back');

    publishData(2, { temp: 22, pressure: 2.5 });
    await until(async () => (await messages('DDATA', 'no_birth')) + (await messages('DDATA', 'ingested')) === 1, 'the DDATA after the reconnect');
    expect(await metricValue(bed.gateway, 'pdm_gateway_sparkplug_rebirths_requested_total', 'reason="reconnect"')).toBe(1);
    await until(async () => (await messages('DBIRTH', 'registered')) === 2, 'the births asked for');
    publishData(3, { temp: 23, pressure: 4 });
    await until(async () => (await messages('DDATA', 'ingested')) === 1, 'the DDATA after the rebirth');
    publishData(12.5, { temp: 0, pressure: 0 }); // moves the watermark (2 s lateness) past the first window's end

    const [window] = await bed.waitForWindows(1);
    expect(window).toMatchObject({ machineId: 'press-3', windowStart: BigInt(T0) });
    const sensor = (id: string) => window!.sensors.find((s) => s.sensorId === id);
    // The births' 20 and 1, before the gap and asked for after it, then 23 and 4; the DDATA the
    // gateway could not decode with certainty (22, 2.5) is not among them.
    expect(sensor('temp')).toMatchObject({ count: 3, mean: 21, min: 20, max: 23 });
    expect(sensor('pressure')).toMatchObject({ count: 3, mean: 2, min: 1, max: 4 });
    expect(rebirthRequests).toHaveLength(1);
  });
});
