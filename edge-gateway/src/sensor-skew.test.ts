// One sensor's clock running ahead, through a running gateway: its machine's other sensor loses no
// reading (the repro: 30 s ahead, 39 of 40 readings of the other sensor were late and dropped).
import { connectAsync, type MqttClient } from 'mqtt';
import type { MachineWindow } from '@pdm/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from './test-support/gateway-harness.js';

describe('a sensor whose clock runs 30 s ahead', () => {
  let bed: GatewayTestbed;
  let mqtt: MqttClient;
  beforeEach(async () => {
    bed = await startGatewayTestbed({ windows: { lateMode: 'revise' } });
    mqtt = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
  });
  afterEach(async () => {
    await mqtt.endAsync();
    await bed.close();
  });

  it("drops no reading of its machine's on-time sensor", async () => {
    const send = (sensor: string, ts: number, value: number) => mqtt.publishAsync(`sensors/pump-1/${sensor}`, JSON.stringify({ ts, value }), { qos: 1 });
    for (let i = 0; i < 40; i++) {
      await send('ahead', bed.clock.now() + 30_000, 1);
      await send('ontime', bed.clock.now(), 2);
      bed.clock.advance(1_000);
      bed.gateway.tick();
    }
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(80);
    expect(await metricValue(bed.gateway, 'pdm_gateway_late_readings_total')).toBe(0);
    await bed.gateway.stop(); // sends the windows still open
    // Each window at its newest revision, as the processor keeps it: every on-time reading is in one.
    await bed.collector.waitFor(1);
    const newest = new Map<bigint, MachineWindow>();
    const deadline = Date.now() + 10_000;
    const total = (sensor: string) => [...newest.values()].reduce((n, w) => n + (w.sensors.find((s) => s.sensorId === sensor)?.count ?? 0), 0);
    while (Date.now() < deadline) {
      newest.clear();
      for (const w of bed.windows()) if ((newest.get(w.windowStart)?.revision ?? -1) < w.revision) newest.set(w.windowStart, w);
      if (total('ontime') === 40 && total('ahead') === 40) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect([total('ontime'), total('ahead')]).toEqual([40, 40]);
    expect([...newest.keys()].map((start) => Number(start) - T0).sort((a, b) => a - b)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
  });
});
