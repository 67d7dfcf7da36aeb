import { connectAsync, type MqttClient } from 'mqtt';
import { status } from '@grpc/grpc-js';
import { CloseReason } from '@pdm/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from './config/index.js';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from './test-support/gateway-harness.js';
import { until as untilWithin } from '@pdm/pubsub-emulator/testing';

describe('edge gateway: MQTT in, feature messages out', () => {
  let bed: GatewayTestbed;
  let mqtt: MqttClient;
  beforeEach(async () => {
    bed = await startGatewayTestbed();
    mqtt = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
  });
  afterEach(async () => {
    await mqtt.endAsync();
    await bed.close();
  });

  const send = (topic: string, body: unknown) => mqtt.publishAsync(topic, JSON.stringify(body), { qos: 1 });

  async function restartGateway(overrides: GatewayConfigInput): Promise<void> {
    await bed.restartGateway(overrides);
    await mqtt.endAsync();
    mqtt = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
  }

  /** Whether the publisher is backing off after a failed publish, as /readyz says. */
  async function backingOff(): Promise<boolean> {
    const ready = (await (await fetch(`http://127.0.0.1:${bed.gateway.httpPort}/readyz`)).json()) as { checks: Record<string, { detail: string }> };
    return ready.checks.publisher?.detail === 'buffering: Pub/Sub unreachable';
  }

  const untilAsync = (condition: () => Promise<boolean>, what: string, timeoutMs = 10_000) => untilWithin(condition, what, timeoutMs);

  // Batches (the default: 8 shards, pump-1 in shard 1 by FNV-1a, computed by hand) and the path
  // gateways had before them, which processors still read: one MachineWindow per message, ordering key = machine id.
  for (const { format, featureBatches, orderingKey, schema } of [
    { format: 'in a FeatureBatch', featureBatches: true, orderingKey: 'gw-test:1', schema: 'pdm.v1.FeatureBatch' },
    { format: 'alone', featureBatches: false, orderingKey: 'pump-1', schema: 'pdm.v1.MachineWindow' },
  ]) {
    it(`windows readings per machine and publishes one MachineWindow with all its sensors, ${format}`, async () => {
      if (!featureBatches) await restartGateway({ pubsub: { featureBatches: { enabled: false } } });
      for (let i = 0; i < 10; i++) await send('sensors/pump-1/temp', { ts: T0 + i * 1000, value: 60 + i });
      await send('sensors/pump-1/vib', { ts: T0, hz: 10, values: Array.from({ length: 100 }, (_, i) => (i % 2 ? 1 : -1)) });
      // An event at T0 + 12.5 s moves the watermark (max − 2 s lateness) past the first window's end.
      await send('sensors/pump-1/temp', { ts: T0 + 12_500, value: 70 });

      const [message] = await bed.collector.waitFor(1);
      expect(message!.orderingKey).toBe(orderingKey);
      expect(message!.attributes).toEqual({ schema, gateway: 'gw-test', site: 'plant-test' });
      expect(bed.windows()).toHaveLength(1);
      const [window] = bed.windows();
      expect(window).toMatchObject({ machineId: 'pump-1', gatewayId: 'gw-test', siteId: 'plant-test', revision: 0, closeReason: CloseReason.WATERMARK });
      expect(window!.windowStart).toBe(BigInt(T0));
      expect(window!.windowEnd).toBe(BigInt(T0 + 10_000));
      const [temp, vib] = [window!.sensors.find((s) => s.sensorId === 'temp'), window!.sensors.find((s) => s.sensorId === 'vib')];
      expect(temp).toMatchObject({ count: 10, mean: 64.5, min: 60, max: 69 });
      expect(vib).toMatchObject({ count: 100, mean: 0, peakToPeak: 2 });
      expect(vib!.rms).toBeCloseTo(1, 12);
      expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(111);
      expect(await metricValue(bed.gateway, 'pdm_gateway_windows_emitted_total', 'close_reason="watermark"')).toBe(1);
    });
  }

  it('counts rejects by reason, keeps running and serves health, readiness and metrics', async () => {
    await mqtt.publishAsync('sensors/pump-1/temp', '{"value": oops', { qos: 1 });
    await send('sensors/pump-1/temp', { value: 'NaN' });
    await send('sensors/bad id/temp', { value: 1 });
    await send('sensors/pump-1/temp', { ts: T0 + 3_600_000, value: 1 });
    const base = `http://127.0.0.1:${bed.gateway.httpPort}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/pdm_gateway_rejected_total\{reason="bad_json"\} 1/);
    expect(metrics).toMatch(/pdm_gateway_rejected_total\{reason="not_finite"\} 1/);
    expect(metrics).toMatch(/pdm_gateway_rejected_total\{reason="bad_topic"\} 1/);
    expect(metrics).toMatch(/pdm_gateway_rejected_total\{reason="future_ts"\} 1/);
    expect(metrics).toMatch(/nodejs_eventloop_lag_seconds/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: Record<string, { ok: boolean }> }).checks).toMatchObject({
      broker: { ok: true },
      outbox: { ok: true },
      publisher: { ok: true },
    });
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(0);
    expect(bed.gateway.engine.metrics().openWindows).toBe(0);
  });

  it('republishes a refused message on the debug topic with its reason', async () => {
    await restartGateway({ validation: { debugTopic: 'pdm/rejected' }, mqtt: { anonymous: { subscribe: ['pdm/rejected/#'] } } });
    await mqtt.subscribeAsync('pdm/rejected/#');
    const received = new Promise<{ topic: string; body: { topic: string; reason: string; detail: string; payload: string } }>((resolve) =>
      mqtt.once('message', (topic, payload) => resolve({ topic, body: JSON.parse(payload.toString()) as never })),
    );
    await mqtt.publishAsync('sensors/pump-1/temp', '{"value": 1', { qos: 1 });
    const { topic, body } = await received;
    expect(topic).toBe('pdm/rejected/bad_json');
    expect(body).toMatchObject({ topic: 'sensors/pump-1/temp', reason: 'bad_json' });
    expect(Buffer.from(body.payload, 'base64').toString()).toBe('{"value": 1');
  });

  it('counts in pdm_gateway_readings_total only readings that went into a window; late ones have their own count', async () => {
    await send('sensors/pump-2/temp', { ts: T0 + 1_000, value: 1 });
    await send('sensors/pump-2/temp', { ts: T0 + 12_500, value: 2 }); // the watermark closes [0 s, 10 s)
    await send('sensors/pump-2/temp', { ts: T0 + 5_000, value: 3 }); // late: its window has closed
    await send('sensors/pump-2/temp', { ts: T0 + 13_000, value: 4 });
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(3);
    expect(await metricValue(bed.gateway, 'pdm_gateway_late_readings_total')).toBe(1);
  });

  it('closes a silent machine’s window after the idle timeout on the gateway clock', async () => {
    await send('sensors/fan-3/temp', { ts: T0 + 1000, value: 40 });
    bed.clock.advance(29_000);
    bed.gateway.tick();
    expect(bed.collector.messages).toHaveLength(0);
    bed.clock.advance(1_000);
    bed.gateway.tick();
    const [message] = await bed.collector.waitFor(1);
    expect(bed.windows()[0]).toMatchObject({ machineId: 'fan-3', closeReason: CloseReason.IDLE_TIMEOUT });
    expect(message!.orderingKey).toBe('gw-test:2'); // 8 shards: fan-3 in shard 2 by FNV-1a, computed by hand
  });

  it('buffers in the outbox while Pub/Sub refuses publishes, retries on the gateway clock, then delivers every window in order', async () => {
    bed.pubsub.emulator.failNext('Publish', 2, status.PERMISSION_DENIED);
    for (let w = 0; w < 4; w++) await send('sensors/pump-9/temp', { ts: T0 + w * 10_000, value: w });
    await send('sensors/pump-9/temp', { ts: T0 + 42_500, value: 9 });
    await untilAsync(backingOff, 'the publisher backing off after the refused publish');
    // The back-off (10–50 ms here, less up to 20 % jitter) runs on the gateway clock: no retry until it moves.
    bed.clock.advance(5);
    expect(await backingOff()).toBe(true);
    expect(bed.gateway.outbox.stats().depth).toBe(4);
    await untilAsync(async () => {
      if (await backingOff()) bed.clock.advance(50);
      return bed.windows().length >= 4;
    }, 'every window delivered');
    expect(bed.windows().map((w) => Number(w.windowStart) - T0)).toEqual([0, 10_000, 20_000, 30_000]);
    expect(await metricValue(bed.gateway, 'pdm_gateway_publish_errors_total')).toBeGreaterThanOrEqual(1);
    // The subscriber can hold the windows before the gateway has handled Pub/Sub's confirmation.
    await untilAsync(() => Promise.resolve(bed.gateway.outbox.stats().depth === 0), 'the outbox emptied by the confirmations');
  });

  it('ticks on its clock every tickMs, and leaves no timer behind on it when stopped', async () => {
    await restartGateway({ windows: { tickMs: 1_000 }, health: { intervalMs: 10_000 } });
    await send('sensors/fan-4/temp', { ts: T0 + 1000, value: 40 });
    bed.clock.advance(30_000); // the idle timeout passes: a tick on the clock closes the window
    await untilAsync(() => Promise.resolve(bed.windows().length > 0), 'the idle window published'); // beside health reports
    expect(bed.windows()[0]).toMatchObject({ machineId: 'fan-4', closeReason: CloseReason.IDLE_TIMEOUT });
    expect(bed.clock.pending()).toBeGreaterThan(0);
    await bed.gateway.stop();
    expect(bed.clock.pending()).toBe(0);
  });

  it('on stop closes open windows as partial and publishes them', async () => {
    await send('sensors/press-1/pressure', { ts: T0 + 500, value: 5 });
    await bed.gateway.stop();
    const [message] = await bed.collector.waitFor(1);
    expect(message).toBeDefined();
    expect(bed.windows()[0]).toMatchObject({ machineId: 'press-1', closeReason: CloseReason.SHUTDOWN });
  });
});
