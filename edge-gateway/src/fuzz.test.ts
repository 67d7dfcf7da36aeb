// Property-based fuzzing of the running gateway: no topic or payload of any shape crashes it,
// reaches a window unvalidated, or corrupts the windows of well-behaved sensors.
import fc from 'fast-check';
import { connectAsync, type MqttClient } from 'mqtt';
import { SensorBatchSchema, create, toBinary } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from './test-support/gateway-harness.js';

const id = fc.stringMatching(/^[A-Za-z0-9_.-]{1,8}$/);
// MQTT forbids wildcards in PUBLISH topics (the broker drops the client); everything else is fair game.
const noWildcards = (s: string) => s.length > 0 && !/[#+\u0000]/.test(s) && !s.startsWith('$');
const topic = fc.oneof(
  fc.tuple(id, id).map(([m, s]) => `sensors/fuzz-${m}/${s}`),
  fc.tuple(id, id).map(([m, s]) => `sensors/fuzz-${m}/${s}/pb`),
  fc.string({ minLength: 1, maxLength: 80 }).filter(noWildcards),
  fc.array(fc.string({ maxLength: 70 }), { minLength: 1, maxLength: 5 }).map((parts) => `sensors/${parts.join('/')}`).filter(noWildcards),
);
const anyValue = fc.oneof(fc.double(), fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.constant(1e308), fc.constant(-0));
const anyTs = fc.oneof(fc.constant(undefined), fc.integer({ min: T0 - 100_000, max: T0 + 100_000 }), fc.double(), fc.string(), fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())));
const jsonPayload = fc.oneof(
  fc.record({ ts: anyTs, value: anyValue }, { requiredKeys: [] }),
  fc.record({ ts: anyTs, hz: anyValue, values: fc.array(anyValue, { maxLength: 50 }) }, { requiredKeys: [] }),
  fc.record({ samples: fc.array(fc.record({ ts: anyTs, value: anyValue }, { requiredKeys: [] }), { maxLength: 20 }) }),
  fc.jsonValue(),
);
const payload = fc.oneof(
  jsonPayload.map((v) => Buffer.from(JSON.stringify(v) ?? 'undefined')),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.record({ start: fc.integer({ min: T0 - 50_000, max: T0 }), hz: fc.double(), values: fc.array(fc.double(), { maxLength: 40 }) }).map(({ start, hz, values }) =>
    Buffer.from(toBinary(SensorBatchSchema, create(SensorBatchSchema, { body: { case: 'block', value: { startTs: BigInt(start), hz, values } } }))),
  ),
);

describe('gateway under fuzzed MQTT input', () => {
  let bed: GatewayTestbed;
  let mqtt: MqttClient;
  beforeAll(async () => {
    // Any topic is granted so that every fuzzed topic reaches ingest validation, not only the ACL.
    bed = await startGatewayTestbed({ validation: { maxPayloadBytes: 4096 }, mqtt: { anonymous: { publish: ['#'] } } });
    mqtt = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
  });
  afterAll(async () => {
    await mqtt.endAsync();
    await bed.close();
  });

  it('never crashes, counts every message, and keeps well-behaved windows exact', async () => {
    await fc.assert(
      fc.asyncProperty(topic, payload, async (t, p) => {
        await mqtt.publishAsync(t, p, { qos: 1 });
      }),
      { numRuns: 300, seed: 20261128 },
    );
    const windowed = await metricValue(bed.gateway, 'pdm_gateway_readings_total');
    const late = await metricValue(bed.gateway, 'pdm_gateway_late_readings_total');
    const text = await bed.gateway.metrics.registry.metrics();
    const rejected = [...text.matchAll(/^pdm_gateway_rejected_total\{reason="(\w+)"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[2]), 0);
    expect(rejected).toBeGreaterThan(0);
    // Every message had its readings windowed, counted late, or was refused and counted.
    expect(windowed + late + rejected).toBeGreaterThanOrEqual(300);

    // A well-behaved sensor next to the noise still gets exact statistics.
    for (let i = 0; i < 10; i++) await mqtt.publishAsync('sensors/clean-1/temp', JSON.stringify({ ts: T0 + i * 1000, value: i }), { qos: 1 });
    await bed.gateway.stop();
    await until(() => bed.windows().some((w) => w.machineId === 'clean-1'), 'the clean machine’s window');
    const windows = bed.windows();
    const clean = windows.find((w) => w.machineId === 'clean-1');
    expect(clean?.sensors[0]).toMatchObject({ sensorId: 'temp', count: 10, mean: 4.5, min: 0, max: 9 });
    // No window carries a NaN or an infinity, whatever was thrown at the gateway.
    for (const w of windows) {
      for (const s of w.sensors) {
        for (const [key, value] of Object.entries(s)) if (typeof value === 'number') expect(Number.isFinite(value), `${w.machineId}/${s.sensorId}.${key}`).toBe(true);
      }
    }
    expect(windows.length).toBeGreaterThan(1);
  });
});
