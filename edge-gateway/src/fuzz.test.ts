// Property-based fuzzing of the running gateway: no topic or payload of any shape crashes it,
// reaches a window unvalidated, or corrupts the windows of well-behaved sensors.
import fc from 'fast-check';
import { connectAsync, type MqttClient } from 'mqtt';
import { SensorBatchSchema, create, toBinary } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from './test-support/gateway-harness.js';

const MAX_PAYLOAD = 4_096;
// The smallest packet limit the configuration allows with this payload limit (payload + 65,544).
const MAX_PACKET = MAX_PAYLOAD + 65_544;
// Few enough that the fuzz fills them: later new machines are refused (too_many_machines).
const MAX_MACHINES = 4;

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

/**
 * A payload, and when the gateway must refuse all of it whatever it makes of it: 'always' (over a
 * size limit), 'as-json' (on a JSON topic: a single reading without a finite number for a value).
 */
interface FuzzPayload {
  bytes: Buffer;
  refused: 'always' | 'as-json' | 'maybe';
}
const json = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'undefined');
const singleReading = fc.record({ ts: anyTs, value: anyValue }, { requiredKeys: [] }).map(
  (reading): FuzzPayload => ({ bytes: json(reading), refused: typeof reading.value === 'number' && Number.isFinite(reading.value) ? 'maybe' : 'as-json' }),
);
const otherJson = fc.oneof(
  fc.record({ ts: anyTs, hz: anyValue, values: fc.array(anyValue, { maxLength: 50 }) }, { requiredKeys: [] }),
  fc.record({ samples: fc.array(fc.record({ ts: anyTs, value: anyValue }, { requiredKeys: [] }), { maxLength: 20 }) }),
  fc.jsonValue(),
);
// Over validation.maxPayloadBytes (refused, the client stays), or over mqtt.maxPacketBytes (refused from
// the packet's header, the client disconnected).
const oversized = fc
  .oneof(fc.integer({ min: MAX_PAYLOAD + 1, max: 4 * MAX_PAYLOAD }), fc.constant(MAX_PACKET))
  .chain((size) => fc.constantFrom(json({ ts: T0, value: 1, pad: 'x'.repeat(size) }), Buffer.alloc(size, 0x0a)))
  .map((bytes): FuzzPayload => ({ bytes, refused: 'always' }));
const payload = fc.oneof(
  { arbitrary: singleReading, weight: 2 },
  { arbitrary: otherJson.map((v): FuzzPayload => ({ bytes: json(v), refused: 'maybe' })), weight: 3 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b): FuzzPayload => ({ bytes: Buffer.from(b), refused: 'maybe' })), weight: 2 },
  {
    arbitrary: fc
      .record({ start: fc.integer({ min: T0 - 50_000, max: T0 }), hz: fc.double(), values: fc.array(fc.double(), { maxLength: 40 }) })
      .map(({ start, hz, values }): FuzzPayload => ({
        bytes: Buffer.from(toBinary(SensorBatchSchema, create(SensorBatchSchema, { body: { case: 'block', value: { startTs: BigInt(start), hz, values } } }))),
        refused: 'maybe',
      })),
    weight: 2,
  },
  { arbitrary: oversized, weight: 1 },
);

/** The machine a topic names when it is a sensor topic, as the README defines one. */
const machineOf = (t: string) => /^sensors\/([A-Za-z0-9_.-]{1,64})\/[A-Za-z0-9_.-]{1,64}(\/pb)?$/.exec(t)?.[1];

/** What became of one fuzzed message, from the gateway's counters just before and after it. */
interface Outcome {
  topic: string;
  machine: string | undefined;
  refused: FuzzPayload['refused'];
  windowed: number;
  late: number;
  rejected: number;
}

describe('gateway under fuzzed MQTT input', () => {
  let bed: GatewayTestbed;
  let mqtt: MqttClient;
  const connect = () => connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
  beforeAll(async () => {
    // Any topic is granted so that every fuzzed topic reaches ingest validation, not only the ACL.
    bed = await startGatewayTestbed({
      validation: { maxPayloadBytes: MAX_PAYLOAD, maxMachines: MAX_MACHINES },
      mqtt: { anonymous: { publish: ['#'] }, maxPacketBytes: MAX_PACKET },
    });
    mqtt = await connect();
  });
  afterAll(async () => {
    await mqtt.endAsync();
    await bed.close();
  });

  async function counters(): Promise<{ windowed: number; late: number; rejected: number }> {
    const text = await bed.gateway.metrics.registry.metrics();
    const rejected = [...text.matchAll(/^pdm_gateway_rejected_total\{reason="(\w+)"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[2]), 0);
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return { windowed: value('pdm_gateway_readings_total'), late: value('pdm_gateway_late_readings_total'), rejected };
  }

  /** Publishes with QoS 1: ingest runs before the PUBACK. A packet over the limit costs its client the connection. */
  async function publish(t: string, bytes: Buffer): Promise<void> {
    if (bytes.length < MAX_PACKET) return void (await mqtt.publishAsync(t, bytes, { qos: 1 }));
    const closed = new Promise<void>((resolve) => mqtt.once('close', () => resolve()));
    mqtt.publish(t, bytes, { qos: 1 });
    await closed;
    mqtt.end(true);
    mqtt = await connect();
  }

  it('never crashes, counts every message, lets no refused reading into a window, and keeps well-behaved windows exact', async () => {
    // The well-behaved machine takes its place before the fuzz fills the machine cap.
    await mqtt.publishAsync('sensors/clean-1/temp', JSON.stringify({ ts: T0, value: 0 }), { qos: 1 });
    const outcomes: Outcome[] = [];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(topic, payload, async (fuzzed, p) => {
        // Each run gets machines of its own, so that each window can be traced to the message it came from.
        const t = fuzzed.replace(/^sensors\/fuzz-/, `sensors/f${run++}-`);
        const before = await counters();
        await publish(t, p.bytes);
        const after = await counters();
        outcomes.push({
          topic: t,
          machine: machineOf(t),
          refused: p.refused,
          windowed: after.windowed - before.windowed,
          late: after.late - before.late,
          rejected: after.rejected - before.rejected,
        });
      }),
      { numRuns: 300, seed: 20261128 },
    );
    const windowed = await metricValue(bed.gateway, 'pdm_gateway_readings_total');
    const late = await metricValue(bed.gateway, 'pdm_gateway_late_readings_total');
    const { rejected } = await counters();
    expect(rejected).toBeGreaterThan(0);
    // Every message had its readings windowed, counted late, or was refused and counted.
    expect(windowed + late + rejected).toBeGreaterThanOrEqual(300);
    for (const o of outcomes) expect(o.windowed + o.late + o.rejected, o.topic).toBeGreaterThan(0);
    // The fuzz reached each limit at the door.
    for (const reason of ['too_large', 'packet_too_large', 'too_many_machines']) {
      expect(await metricValue(bed.gateway, 'pdm_gateway_rejected_total', `reason="${reason}"`), reason).toBeGreaterThan(0);
    }
    expect(bed.gateway.engine.metrics().machines).toBeLessThanOrEqual(MAX_MACHINES);

    // A well-behaved sensor next to the noise still gets exact statistics.
    for (let i = 1; i < 10; i++) await mqtt.publishAsync('sensors/clean-1/temp', JSON.stringify({ ts: T0 + i * 1000, value: i }), { qos: 1 });
    await bed.gateway.stop();
    const emitted = (await bed.gateway.metrics.registry.getSingleMetric('pdm_gateway_windows_emitted_total')!.get()).values.reduce((sum, v) => sum + v.value, 0);
    await until(() => bed.windows().length >= emitted, 'every emitted window');
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

    // No refused reading reached a window. A message the gateway must refuse whole left no reading
    // anywhere; each machine's windows hold exactly the readings counted into windows for its messages.
    const inWindows = new Map<string, number>();
    for (const w of windows) inWindows.set(w.machineId, (inWindows.get(w.machineId) ?? 0) + w.sensors.reduce((sum, s) => sum + s.count, 0));
    const counted = new Map<string, number>([['clean-1', 10]]);
    for (const o of outcomes) {
      const wholeRefusal = o.refused === 'always' || (o.refused === 'as-json' && !o.topic.endsWith('/pb')) || o.machine === undefined;
      if (wholeRefusal) expect({ topic: o.topic, windowed: o.windowed, late: o.late }).toEqual({ topic: o.topic, windowed: 0, late: 0 });
      if (o.machine !== undefined) counted.set(o.machine, (counted.get(o.machine) ?? 0) + o.windowed);
    }
    for (const [machine, readings] of counted) expect(inWindows.get(machine) ?? 0, machine).toBe(readings);
    expect([...inWindows.keys()].filter((m) => !counted.has(m))).toEqual([]);
    expect(outcomes.filter((o) => o.refused === 'always').length).toBeGreaterThan(0);
  });
});
