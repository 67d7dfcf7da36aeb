// A real Sparkplug B edge node from another implementation (Eclipse Tahu's sparkplug-client) on the
// gateway's embedded broker, and on a plant's mosquitto the gateway bridges from (upstream
// `sparkplug: true`): births, data by alias into windows, a sequence gap forced by a raw MQTT
// publisher answered with a Rebirth request that the edge node obeys, a device death (its windows close
// at once), a node death, and a second edge node whose device id repeats the first's.
import { createRequire } from 'node:module';
import { CloseReason, type MachineWindow } from '@pdm/proto';
import { connectAsync } from 'mqtt';
import { type UPayload, newClient } from 'sparkplug-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';
import { startMosquitto } from '../test-support/mosquitto.js';
import { answerRebirths } from '../test-support/sparkplug-edge-node.js';
import { until as untilWithin } from '@pdm/pubsub-emulator/testing';

const tahu = (createRequire(import.meta.url)('sparkplug-payload') as { get(v: string): { encodePayload(p: UPayload): Uint8Array } }).get('spBv1.0');

/** Sensor id of the metric "Inputs/Temp": hashlib.sha256(b'Inputs/Temp').hexdigest()[:8] is 6be6619b. */
const TEMP = 'Inputs_Temp_6be6619b';

const until = (condition: () => Promise<boolean>, what: string, timeoutMs = 15_000) => untilWithin(condition, what, timeoutMs);

/** A gateway and the broker the edge node publishes to. */
interface Setup {
  readonly bed: GatewayTestbed;
  readonly brokerUrl: string;
  close(): Promise<void>;
}

const SETUPS: ReadonlyArray<{ name: string; start(): Promise<Setup> }> = [
  {
    name: 'on the embedded broker',
    async start() {
      const bed = await startGatewayTestbed({ mqtt: { anonymous: { publish: ['spBv1.0/#'], subscribe: ['spBv1.0/plant/NCMD/#', 'spBv1.0/plant/DCMD/#'] } } });
      return { bed, brokerUrl: `mqtt://127.0.0.1:${bed.gateway.mqttPort}`, close: () => bed.close() };
    },
  },
  {
    name: 'through the bridge from a plant mosquitto',
    async start() {
      const plant = await startMosquitto();
      const bed = await startGatewayTestbed({ bridge: { upstreams: [{ name: 'plant', url: plant.url, sparkplug: true, backoff: { initialMs: 100, maxMs: 100 } }] } });
      // Births are QoS 0: the edge node starts once the bridge is subscribed.
      await until(async () => (await metricValue(bed.gateway, 'pdm_gateway_bridge_connected', 'upstream="plant"')) === 1, 'the bridge subscribed');
      return {
        bed,
        brokerUrl: plant.url,
        async close() {
          await bed.close();
          await plant.close();
        },
      };
    },
  },
];

describe.each(SETUPS)('Sparkplug B edge node (Eclipse Tahu sparkplug-client) $name', (setup) => {
  let broker: Setup;
  let bed: GatewayTestbed;
  let edgeNode: ReturnType<typeof newClient>;
  const rebirthRequests: UPayload[] = [];

  beforeEach(async () => {
    rebirthRequests.length = 0;
    broker = await setup.start();
    bed = broker.bed;
    edgeNode = tahuEdgeNode('edge-1');
    answerRebirths(edgeNode, publishBirths, rebirthRequests);
    await until(async () => (await messages('DBIRTH', 'registered')) === 1, 'the births registered');
  });

  afterEach(async () => {
    edgeNode.stop();
    await broker.close();
  });

  /** An Eclipse Tahu edge node of group plant on the broker. */
  function tahuEdgeNode(id: string): ReturnType<typeof newClient> {
    return newClient({ serverUrl: broker.brokerUrl, username: '', password: '', groupId: 'plant', edgeNode: id, clientId: id, publishDeath: true, version: 'spBv1.0' });
  }

  function publishBirths(): void {
    edgeNode.publishNodeBirth({
      timestamp: T0,
      metrics: [
        { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
        { name: 'CPU Load', alias: 1, type: 'Float', value: 0.5, timestamp: T0 },
      ],
    });
    edgeNode.publishDeviceBirth('press-3', {
      timestamp: T0,
      metrics: [
        { name: 'Inputs/Temp', alias: 10, type: 'Double', value: 20, timestamp: T0 },
        { name: 'Status', alias: 11, type: 'String', value: 'running' },
      ],
    });
  }

  /** DDATA of press-3 by alias only: Inputs/Temp = value at T0 + second s. */
  function temp(value: number, second: number): void {
    edgeNode.publishDeviceData('press-3', { timestamp: T0 + second * 1000, metrics: [{ alias: 10, type: 'Double', value, timestamp: T0 + second * 1000 }] });
  }

  const messages = (type: string, outcome: string) => metricValue(bed.gateway, 'pdm_gateway_sparkplug_messages_total', `type="${type}",outcome="${outcome}"`);

  /** press-3's window starting at T0, once it arrived. */
  async function firstWindow(): Promise<MachineWindow> {
    let window: MachineWindow | undefined;
    await until(() => {
      window = bed.windows().find((w) => w.machineId === 'press-3' && w.windowStart === BigInt(T0));
      return Promise.resolve(window !== undefined);
    }, "press-3's first window");
    return window!;
  }

  it('windows the data of a device resolved by alias: exact count and mean', async () => {
    for (let s = 1; s <= 9; s++) temp(20 + s, s);
    await until(async () => (await messages('DDATA', 'ingested')) === 9, '9 DDATA ingested');
    temp(0, 12.5); // moves the watermark (2 s lateness) past the first window's end

    const window = await firstWindow();
    const sensor = window.sensors.find((s) => s.sensorId === TEMP);
    expect(sensor?.count).toBe(10); // the DBIRTH's 20 and the DDATA's 21…29
    expect(sensor?.mean).toBe(24.5); // (20 + 21 + … + 29) / 10
    expect(window.sensors.map((s) => s.sensorId)).toEqual([TEMP]); // Status is a String: no reading
    expect(await metricValue(bed.gateway, 'pdm_gateway_sparkplug_rebirths_requested_total', 'reason="seq_gap"')).toBe(0);
  });

  it('answers a sequence gap with a Rebirth request; the edge node’s new births register and its data goes on', async () => {
    temp(21, 1);
    await until(async () => (await messages('DDATA', 'ingested')) === 1, 'the first DDATA');
    // Another publisher on the node's topic with a seq far from the node's: a gap.
    const raw = await connectAsync(broker.brokerUrl, { clientId: 'gap-maker' });
    await raw.publishAsync('spBv1.0/plant/DDATA/edge-1/press-3', Buffer.from(tahu.encodePayload({ timestamp: T0 + 2000, seq: 200, metrics: [{ alias: 10, type: 'Double', value: 22, timestamp: T0 + 2000 }] })), { qos: 1 });
    await raw.endAsync();

    await until(() => Promise.resolve(rebirthRequests.length === 1), 'the edge node receiving NCMD Node Control/Rebirth');
    await until(async () => (await messages('NBIRTH', 'registered')) === 2 && (await messages('DBIRTH', 'registered')) === 2, 'the rebirth registered');
    expect(await metricValue(bed.gateway, 'pdm_gateway_sparkplug_rebirths_requested_total', 'reason="seq_gap"')).toBe(1);

    temp(23, 3);
    await until(async () => (await messages('DDATA', 'ingested')) === 3, 'data after the rebirth');
    temp(0, 12.5);
    const sensor = (await firstWindow()).sensors.find((s) => s.sensorId === TEMP);
    expect(sensor?.count).toBe(5); // births 20 and 20 again, then 21, 22 (the gap's own reading), 23
    expect(sensor?.mean).toBeCloseTo(21.2, 12); // 106 / 5
    expect(rebirthRequests).toHaveLength(1);
  });

  it('takes a device offline at its DDEATH and the node at its NDEATH (its MQTT will or goodbye)', async () => {
    temp(21, 1);
    edgeNode.publishDeviceDeath('press-3', { timestamp: T0 + 2000 });
    await until(async () => (await messages('DDEATH', 'offline')) === 1, 'the DDEATH');
    // Its open window goes out at the death, not at the idle timeout (the gateway clock has not moved):
    // the birth's 20 and the 21.
    const closed = await firstWindow();
    expect(closed.closeReason).toBe(CloseReason.IDLE_TIMEOUT);
    expect(closed.sensors.find((s) => s.sensorId === TEMP)).toMatchObject({ count: 2, mean: 20.5 });
    temp(22, 3); // a device that died: its data waits for its rebirth
    await until(async () => (await messages('DDATA', 'no_birth')) === 1, 'DDATA of a dead device');
    await until(() => Promise.resolve(rebirthRequests.length === 1), 'a rebirth asked for the dead device');
    await until(async () => (await messages('DBIRTH', 'registered')) === 2, 'the device born again');
    edgeNode.stop();
    await until(async () => (await messages('NDEATH', 'offline')) === 1, 'the NDEATH');
  });
  it('keeps a second edge node’s device of the same id off the first one’s machine: no mixed window, none closed by its deaths', async () => {
    // With the default sparkplug.machineId "{device}", edge-2's press-3 maps to edge-1's press-3.
    const edgeNode2 = tahuEdgeNode('edge-2');
    try {
      edgeNode2.on('birth', () => {
        edgeNode2.publishNodeBirth({ timestamp: T0, metrics: [] });
        edgeNode2.publishDeviceBirth('press-3', { timestamp: T0, metrics: [{ name: 'Inputs/Temp', alias: 10, type: 'Double', value: 1000, timestamp: T0 }] });
      });
      const dbirths = async () => (await messages('DBIRTH', 'registered')) + (await messages('DBIRTH', 'machine_id_clash'));
      await until(async () => (await dbirths()) === 2, "edge-2's DBIRTH");
      edgeNode2.publishDeviceData('press-3', { timestamp: T0 + 1000, metrics: [{ alias: 10, type: 'Double', value: 1001, timestamp: T0 + 1000 }] });
      edgeNode2.publishDeviceDeath('press-3', { timestamp: T0 + 2000 });
      await until(async () => (await messages('DDEATH', 'offline')) + (await messages('DDEATH', 'no_birth')) === 1, "edge-2's DDEATH");
      edgeNode2.stop();
      await until(async () => (await messages('NDEATH', 'offline')) === 1, "edge-2's NDEATH");
    } finally {
      edgeNode2.stop();
    }

    for (let s = 1; s <= 9; s++) temp(20 + s, s);
    await until(async () => (await messages('DDATA', 'ingested')) >= 9, "edge-1's 9 DDATA ingested");
    temp(0, 12.5);
    // press-3's first window holds edge-1's readings only and was closed by the watermark, not by edge-2's deaths.
    const window = await firstWindow();
    expect(window.sensors.find((s) => s.sensorId === TEMP)).toMatchObject({ count: 10, mean: 24.5, max: 29 });
    expect(window.closeReason).toBe(CloseReason.WATERMARK);
    expect(await messages('DBIRTH', 'machine_id_clash')).toBe(1);
    expect(await messages('DDATA', 'no_birth')).toBe(1);
    expect(await messages('DDEATH', 'no_birth')).toBe(1);
  });
});
