// Bridge mode against a real Debian mosquitto standing in for a plant's broker, with mosquitto_pub
// devices publishing on the plant's own topics and payloads: the gateway subscribes, maps, validates,
// windows and publishes; nothing published at QoS 1 is lost when the upstream or the gateway restarts.
import type { MachineWindow } from '@pdm/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';
import { type Mosquitto, startMosquitto } from '../test-support/mosquitto.js';
import { until as untilWithin } from '@pdm/pubsub-emulator/testing';

describe('bridge from a plant broker (mosquitto)', () => {
  let plant: Mosquitto;
  let bed: GatewayTestbed;

  beforeEach(async () => {
    plant = await startMosquitto();
    bed = await startGatewayTestbed({
      bridge: {
        upstreams: [
          {
            name: 'plant',
            url: plant.url,
            // Everything under plant/ and site/, so topics no template matches reach the gateway too.
            subscribe: ['plant/#', 'site/#'],
            mappings: [
              { topic: 'plant/{line}/{machine}/{sensor}' },
              {
                topic: 'site/+/{machine}/{sensor}/state',
                value: 'data.raw',
                timestamp: 'data.time',
                epochUnit: 's',
                sensors: { pressure: { scale: 0.1, offset: -1, unit: 'bar' } },
              },
            ],
            backoff: { initialMs: 100, maxMs: 100 },
          },
        ],
      },
    });
    await until(async () => (await connected()) === 1, 'the bridge connected and subscribed');
  });

  afterEach(async () => {
    await bed.close();
    await plant.close();
  });

  const connected = () => metricValue(bed.gateway, 'pdm_gateway_bridge_connected', 'upstream="plant"');
  const outcome = (name: string) => metricValue(bed.gateway, 'pdm_gateway_bridge_messages_total', `upstream="plant",outcome="${name}"`);

  const until = (condition: () => Promise<boolean>, what: string, timeoutMs = 15_000) => untilWithin(condition, what, timeoutMs);

  /** Publishes `values` of press-3's temp at T0 + offset + i s, each a JSON reading {value, ts} as the first mapping reads it. */
  async function sendTemps(values: readonly number[], firstSecond: number): Promise<void> {
    for (const [i, value] of values.entries()) await plant.publish('plant/line-1/press-3/temp', JSON.stringify({ value, ts: T0 + (firstSecond + i) * 1000 }));
  }

  async function ingested(count: number): Promise<void> {
    await until(async () => (await outcome('ingested')) === count, `${count} messages ingested`);
  }

  /** The sensor's statistics in the last revision of press-3's first window, once that revision arrived. */
  async function firstWindow(sensorId: string, revision = 0): Promise<NonNullable<MachineWindow['sensors'][number]>> {
    let window: MachineWindow | undefined;
    await until(() => {
      window = bed.windows().find((w) => w.machineId === 'press-3' && w.windowStart === BigInt(T0) && w.revision === revision);
      return Promise.resolve(window !== undefined);
    }, `revision ${revision} of press-3's first window`);
    const sensor = window!.sensors.find((s) => s.sensorId === sensorId);
    expect(sensor).toBeDefined();
    return sensor!;
  }

  it('maps a plant topic tree and payload to readings that take the gateway validation, windows and metrics', async () => {
    await sendTemps([20, 21, 22, 23, 24], 0);
    await plant.publish('plant/line-1/press-3/temp', '{"value": "hot", "ts": 1}'); // not a number: refused as not_finite
    await plant.publish('plant/line-1/status', '{"state": "running"}'); // no template has three levels
    await plant.publish('plant/line-1/press 3/temp', '{"value": 1}'); // not a valid machine id
    await plant.publish('plant/line-1/press-3/temp', '25', { retain: true }); // a plain number, at gateway time (T0)
    await sendTemps([26, 27, 28, 29], 6);
    await ingested(10);
    // A reading at T0 + 12.5 s moves the watermark (2 s lateness) past the first window's end.
    await plant.publish('plant/line-1/press-3/temp', JSON.stringify({ value: 0, ts: T0 + 12_500 }));

    const temp = await firstWindow('temp');
    expect(temp.count).toBe(10);
    expect(temp.mean).toBe(24.5); // (20 + 21 + … + 29) / 10
    expect([temp.min, temp.max]).toEqual([20, 29]);
    expect(await outcome('ingested')).toBe(11);
    expect(await outcome('not_finite')).toBe(1);
    expect(await outcome('bad_topic')).toBe(1);
    expect(await outcome('unmatched')).toBe(1);
    // The same counters as readings from the embedded broker.
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(11);
    expect(await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="not_finite"')).toBe(1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="bad_topic"')).toBe(1);
  });

  it('skips a retained message the broker replays when the bridge subscribes', async () => {
    await plant.publish('plant/line-1/press-3/temp', '{"value": 99}', { retain: true });
    await ingested(1);
    await bed.restartGateway();
    await until(async () => (await connected()) === 1, 'the bridge connected again');
    await until(async () => (await outcome('retained')) === 1, 'the retained message skipped');
    expect(await outcome('ingested')).toBe(0); // a new gateway process counts from 0
  });

  it('reads value and timestamp at configured JSON paths, epoch seconds, and scales per sensor', async () => {
    const raws = [100, 110, 120, 130];
    for (const [i, raw] of raws.entries()) {
      await plant.publish('site/hall-a/press-3/pressure/state', JSON.stringify({ data: { raw, time: T0 / 1000 + i }, quality: 'good' }));
    }
    await plant.publish('site/hall-a/press-3/pressure/state', JSON.stringify({ data: { time: T0 / 1000 } })); // no value at data.raw
    await plant.publish('site/hall-a/press-3/pressure/state', JSON.stringify({ data: { raw: 1, time: 'yesterday' } })); // neither epoch nor ISO 8601
    await plant.publish('site/hall-a/press-3/pressure/state', JSON.stringify({ data: { raw: 1, time: T0 / 1000 + 12.5 } }));

    const pressure = await firstWindow('pressure');
    expect(pressure.count).toBe(4);
    expect(pressure.mean).toBeCloseTo(10.5, 12); // 100…130 × 0.1 − 1 = 9, 10, 11, 12
    expect(pressure.min).toBeCloseTo(9, 12);
    expect(pressure.max).toBeCloseTo(12, 12);
    expect(await outcome('bad_payload')).toBe(1);
    expect(await outcome('bad_ts')).toBe(1);
  });

  it('loses nothing at QoS 1 when the upstream restarts mid-stream: what is published meanwhile waits in the session', async () => {
    await sendTemps([1, 2, 3, 4], 0);
    await ingested(4);
    await plant.restart();
    await until(async () => (await connected()) === 0, 'the bridge noticing the broker went away');
    // The gateway's client reconnects only when the gateway clock reaches its back-off: until then
    // these wait in its session, which mosquitto saved at its stop and restored at its start.
    await sendTemps([5, 6, 7, 8], 4);
    expect(await outcome('ingested')).toBe(4);
    bed.clock.advance(100);
    await until(async () => (await connected()) === 1, 'the bridge reconnected');
    await ingested(8);
    await sendTemps([9, 10], 8);
    await plant.publish('plant/line-1/press-3/temp', JSON.stringify({ value: 0, ts: T0 + 12_500 }));

    const temp = await firstWindow('temp');
    expect(temp.count).toBe(10);
    expect(temp.mean).toBe(5.5); // (1 + 2 + … + 10) / 10
    expect(await metricValue(bed.gateway, 'pdm_gateway_bridge_connects_total', 'upstream="plant"')).toBe(2);
  });

  it('loses nothing at QoS 1 across a gateway restart: what is published while it is down arrives after', async () => {
    await sendTemps([1, 2, 3, 4], 0);
    await ingested(4);
    await bed.gateway.stop();
    await sendTemps([5, 6, 7, 8], 4);
    await bed.restartGateway();
    await until(async () => (await connected()) === 1, 'the bridge connected again');
    await ingested(4); // counted by the new gateway process
    await sendTemps([9, 10], 8);
    await plant.publish('plant/line-1/press-3/temp', JSON.stringify({ value: 0, ts: T0 + 12_500 }));

    // The stop sent the first four as a partial window; the window then filled on and went out complete.
    const temp = await firstWindow('temp', 1);
    expect(temp.count).toBe(10);
    expect(temp.mean).toBe(5.5);
  });
});
