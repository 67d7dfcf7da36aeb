import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import {
  AlertSchema,
  AlertState,
  CloseReason,
  GatewayHealthSchema,
  MachineWindowSchema,
  PUBSUB_ATTRIBUTES,
  SensorBatchSchema,
  create,
  fromBinary,
  schemaAttribute,
  sensorStatsByName,
  toBinary,
} from './index.js';

function sampleWindow() {
  return create(MachineWindowSchema, {
    gatewayId: 'gw-1',
    siteId: 'plant-a',
    machineId: 'pump-07',
    windowStart: 1_764_000_000_000n,
    windowEnd: 1_764_000_010_000n,
    featureVersion: 1,
    revision: 2,
    closeReason: CloseReason.LATE_REVISION,
    sensors: [
      {
        sensorId: 'vib_x',
        count: 1000,
        expectedCount: 1000,
        mean: 0.01,
        variance: 4e-4,
        std: 0.02,
        min: -0.07,
        max: 0.08,
        rms: 0.0224,
        peakToPeak: 0.15,
        skewness: -0.1,
        kurtosis: 3.2,
        crestFactor: 3.57,
        lateCount: 3,
      },
      { sensorId: 'temp', count: 10, expectedCount: 10, mean: 61.5, min: 61, max: 62 },
    ],
  });
}

describe('MachineWindow', () => {
  it('round-trips every field through the binary encoding', () => {
    const original = sampleWindow();
    const decoded = fromBinary(MachineWindowSchema, toBinary(MachineWindowSchema, original));
    expect(decoded).toEqual(original);
    expect(decoded.windowStart).toBe(1_764_000_000_000n);
    expect(decoded.sensors[0]?.crestFactor).toBe(3.57);
  });

  it('decodes an empty payload to proto3 defaults', () => {
    const decoded = fromBinary(MachineWindowSchema, new Uint8Array());
    expect(decoded.machineId).toBe('');
    expect(decoded.revision).toBe(0);
    expect(decoded.featureVersion).toBe(0);
    expect(decoded.closeReason).toBe(CloseReason.UNSPECIFIED);
    expect(decoded.sensors).toEqual([]);
  });

  it('accepts a message written by a newer schema with a field it does not know', () => {
    // A newer writer appends field 100 (a string); today's reader must keep every known field.
    const newer = new BinaryWriter();
    newer.raw(toBinary(MachineWindowSchema, sampleWindow()));
    newer.tag(100, WireType.LengthDelimited).string('added in v1.x');
    const bytes = newer.finish();

    const decoded = fromBinary(MachineWindowSchema, bytes);
    expect(decoded.machineId).toBe('pump-07');
    expect(decoded.sensors).toHaveLength(2);
    // Unknown fields survive a re-encode, so a relay never strips data it does not understand.
    expect(toBinary(MachineWindowSchema, decoded)).toEqual(bytes);
  });

  it('names its schema attribute after the message type', () => {
    expect(schemaAttribute(MachineWindowSchema)).toBe('pdm.v1.MachineWindow');
    expect(PUBSUB_ATTRIBUTES).toEqual({ schema: 'schema', gateway: 'gateway', site: 'site' });
  });
});

describe('sensorStatsByName', () => {
  it('names every numeric SensorStats field as the schema does', () => {
    const stats = sampleWindow().sensors[0]!;
    const byName = sensorStatsByName(stats);
    expect(byName).toMatchObject({ count: 1000, expected_count: 1000, peak_to_peak: 0.15, crest_factor: 3.57, late_count: 3 });
    const numericFields = MachineWindowSchema.fields
      .find((f) => f.name === 'sensors')!
      .message!.fields.filter((f) => f.name !== 'sensor_id')
      .map((f) => f.name);
    expect(Object.keys(byName)).toEqual(numericFields);
  });
});

describe('SensorBatch', () => {
  it('round-trips a sampled block', () => {
    const batch = create(SensorBatchSchema, {
      body: { case: 'block', value: { startTs: 1_764_000_000_123n, hz: 1000, values: [0.1, -0.2, 0.3] } },
    });
    const decoded = fromBinary(SensorBatchSchema, toBinary(SensorBatchSchema, batch));
    expect(decoded.body.case).toBe('block');
    expect(decoded.body.value).toMatchObject({ startTs: 1_764_000_000_123n, hz: 1000, values: [0.1, -0.2, 0.3] });
  });

  it('round-trips individually timestamped readings', () => {
    const batch = create(SensorBatchSchema, {
      body: { case: 'readings', value: { readings: [{ ts: 1n, value: 2.5 }, { ts: 2n, value: -1 }] } },
    });
    const decoded = fromBinary(SensorBatchSchema, toBinary(SensorBatchSchema, batch));
    expect(decoded.body.case).toBe('readings');
    if (decoded.body.case !== 'readings') throw new Error('unreachable');
    expect(decoded.body.value.readings.map((r) => [r.ts, r.value])).toEqual([
      [1n, 2.5],
      [2n, -1],
    ]);
  });

  it('rejects bytes that are not a SensorBatch', () => {
    // Field 1 declared length-delimited with a length that runs past the end of the buffer.
    expect(() => fromBinary(SensorBatchSchema, new Uint8Array([0x0a, 0x7f, 0x01]))).toThrow();
  });
});

describe('Alert', () => {
  it('round-trips an open alert with its top sensors', () => {
    const alert = create(AlertSchema, {
      alertId: 'pump-07:1764000010000',
      siteId: 'plant-a',
      machineId: 'pump-07',
      state: AlertState.OPEN,
      model: 'autoencoder',
      modelVersion: '3',
      openedAt: 1_764_000_010_000n,
      windowEnd: 1_764_000_030_000n,
      score: 4.2,
      threshold: 1,
      message: 'vibration anomaly',
      topSensors: [{ sensorId: 'vib_x', contribution: 0.8 }],
    });
    expect(fromBinary(AlertSchema, toBinary(AlertSchema, alert))).toEqual(alert);
  });
});

describe('GatewayHealth', () => {
  it('round-trips running totals above 2^53, rejects by reason and the latency summary', () => {
    const health = create(GatewayHealthSchema, {
      gatewayId: 'gw-1',
      siteId: 'plant-a',
      reportedAt: 1_764_000_010_000n,
      startedAt: 1_764_000_000_000n,
      readingsAccepted: 2n ** 60n + 1n,
      rejectedByReason: { bad_json: 3n, future_ts: 1n },
      lateReadings: 7n,
      windowsEmitted: 40n,
      windowsPublished: 38n,
      publishErrors: 2n,
      windowsDropped: 0n,
      openWindows: 12,
      outboxDepth: 2n,
      outboxBytes: 4096n,
      outboxOldestAgeMs: 1500n,
      outboxHoursOfOutageLeft: 167.9,
      publishInFlight: 2,
      publishLatency: { confirmed: 38n, meanMs: 12.5, p50Ms: 9.1, p99Ms: 48 },
    });
    const decoded = fromBinary(GatewayHealthSchema, toBinary(GatewayHealthSchema, health));
    expect(decoded).toEqual(health);
    expect(decoded.readingsAccepted).toBe(2n ** 60n + 1n);
  });

  it('leaves the latency summary unset when nothing was confirmed, and names its schema attribute', () => {
    const decoded = fromBinary(GatewayHealthSchema, toBinary(GatewayHealthSchema, create(GatewayHealthSchema, { gatewayId: 'gw-1' })));
    expect(decoded.publishLatency).toBeUndefined();
    expect(decoded.rejectedByReason).toEqual({});
    expect(schemaAttribute(GatewayHealthSchema)).toBe('pdm.v1.GatewayHealth');
  });
});
