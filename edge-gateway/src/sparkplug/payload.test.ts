// The hand-written reader against the spec's .proto compiled by protobuf-es (toBinary of random
// payloads) and against Eclipse Tahu's encoder (sparkplug-payload), another implementation.
import { create, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { PayloadSchema } from '../gen/sparkplug_b_pb.js';
import { type SparkplugMetric, type WireValue, decodeSparkplugPayload } from './payload.js';
import { DataType, readingValue } from './reading-value.js';

// sparkplug-payload is CommonJS with a namespace-per-version getter.
const tahu = (createRequire(import.meta.url)('sparkplug-payload') as { get(v: string): { encodePayload(p: object): Uint8Array } }).get('spBv1.0');

type ValueCase = { case: 'intValue'; value: number } | { case: 'longValue'; value: bigint } | { case: 'floatValue'; value: number } | { case: 'doubleValue'; value: number } | { case: 'booleanValue'; value: boolean } | { case: 'stringValue'; value: string } | { case: 'bytesValue'; value: Uint8Array } | { case: undefined };

const valueArb: fc.Arbitrary<ValueCase> = fc.oneof(
  fc.record({ case: fc.constant('intValue' as const), value: fc.nat({ max: 0xffffffff }) }),
  fc.record({ case: fc.constant('longValue' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  fc.record({ case: fc.constant('floatValue' as const), value: fc.float({ noNaN: true }) }),
  fc.record({ case: fc.constant('doubleValue' as const), value: fc.double({ noNaN: true }) }),
  fc.record({ case: fc.constant('booleanValue' as const), value: fc.boolean() }),
  fc.record({ case: fc.constant('stringValue' as const), value: fc.string() }),
  fc.record({ case: fc.constant('bytesValue' as const), value: fc.uint8Array({ maxLength: 8 }) }),
  fc.constant({ case: undefined }),
);

const metricArb = fc.record(
  {
    name: fc.string(),
    alias: fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
    timestamp: fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
    datatype: fc.nat({ max: 34 }),
    isHistorical: fc.boolean(),
    isNull: fc.boolean(),
    value: valueArb,
  },
  { requiredKeys: ['value'] },
);

const payloadArb = fc.record({ timestamp: fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }), seq: fc.bigInt({ min: 0n, max: 255n }), metrics: fc.array(metricArb, { maxLength: 6 }) }, { requiredKeys: ['metrics'] });

type MetricInput = typeof metricArb extends fc.Arbitrary<infer T> ? T : never;

/** What the reader must return for a metric protobuf-es encoded from `m`. */
function expectedMetric(m: MetricInput): SparkplugMetric {
  const value = ((): WireValue => {
    const v = m.value;
    switch (v.case) {
      case 'intValue':
        return { case: 'int', value: v.value };
      case 'longValue':
        return { case: 'long', lo: Number(v.value & 0xffffffffn), hi: Number(v.value >> 32n) };
      case 'floatValue':
        return { case: 'float', value: Math.fround(v.value) };
      case 'doubleValue':
        return { case: 'double', value: v.value };
      case 'booleanValue':
        return { case: 'boolean', value: v.value };
      case 'stringValue':
        return { case: 'string', value: v.value };
      case 'bytesValue':
        return { case: 'other' };
      default:
        return { case: undefined };
    }
  })();
  return {
    ...(m.name === undefined ? {} : { name: m.name }),
    ...(m.alias === undefined ? {} : { alias: Number(m.alias) }),
    ...(m.timestamp === undefined ? {} : { timestamp: Number(m.timestamp) }),
    ...(m.datatype === undefined ? {} : { datatype: m.datatype }),
    isHistorical: m.isHistorical ?? false,
    isNull: m.isNull ?? false,
    value,
  };
}

describe('decodeSparkplugPayload', () => {
  it('reads what protobuf-es encodes from the spec’s .proto', () => {
    fc.assert(
      fc.property(payloadArb, (p) => {
        const bytes = toBinary(PayloadSchema, create(PayloadSchema, p));
        const decoded = decodeSparkplugPayload(bytes);
        expect(decoded).toEqual({
          ...(p.timestamp === undefined ? {} : { timestamp: Number(p.timestamp) }),
          ...(p.seq === undefined ? {} : { seq: Number(p.seq) }),
          metrics: p.metrics.map(expectedMetric),
        });
      }),
      { numRuns: 500 },
    );
  });

  it('reads what Eclipse Tahu encodes, signed integers included', () => {
    const bytes = tahu.encodePayload({
      timestamp: 1_764_331_200_000,
      seq: 7,
      metrics: [
        { name: 'Inputs/Temp', alias: 1, timestamp: 1_764_331_200_500, type: 'Double', value: 21.25 },
        { name: 'Offset', alias: 2, type: 'Int8', value: -5 },
        { name: 'Delta', alias: 3, type: 'Int32', value: -70_000 },
        { name: 'Counter', alias: 4, type: 'Int64', value: -1 },
        { name: 'Energy', alias: 5, type: 'UInt64', value: 2 ** 40 + 3 },
        { name: 'Speed', alias: 6, type: 'UInt32', value: 4_000_000_000 },
        { name: 'Running', alias: 7, type: 'Boolean', value: true },
        { name: 'Load', alias: 8, type: 'Float', value: 0.5 },
        { name: 'Mode', alias: 9, type: 'String', value: 'auto' },
      ],
    });
    const { timestamp, seq, metrics } = decodeSparkplugPayload(bytes);
    expect([timestamp, seq]).toEqual([1_764_331_200_000, 7]);
    expect(metrics.map((m) => [m.name, m.alias, m.datatype])).toEqual([
      ['Inputs/Temp', 1, DataType.Double],
      ['Offset', 2, DataType.Int8],
      ['Delta', 3, DataType.Int32],
      ['Counter', 4, DataType.Int64],
      ['Energy', 5, DataType.UInt64],
      ['Speed', 6, DataType.UInt32],
      ['Running', 7, DataType.Boolean],
      ['Load', 8, DataType.Float],
      ['Mode', 9, 12],
    ]);
    expect(metrics[0]!.timestamp).toBe(1_764_331_200_500);
    expect(metrics.map((m) => readingValue(m.datatype!, m.value))).toEqual([21.25, -5, -70_000, -1, 2 ** 40 + 3, 4_000_000_000, 1, 0.5, undefined]);
  });

  it('throws on a truncated payload', () => {
    const bytes = tahu.encodePayload({ timestamp: 1, metrics: [{ name: 'a', type: 'Double', value: 1 }] });
    expect(() => decodeSparkplugPayload(bytes.subarray(0, bytes.length - 3))).toThrow();
  });
});

describe('readingValue', () => {
  it('reads signed integers sent as their 8, 16 or 32 low bits', () => {
    expect(readingValue(DataType.Int8, { case: 'int', value: 0xfb })).toBe(-5);
    expect(readingValue(DataType.Int16, { case: 'int', value: 0xfffe })).toBe(-2);
    expect(readingValue(DataType.Int16, { case: 'int', value: 0xfffffffe })).toBe(-2);
    expect(readingValue(DataType.UInt16, { case: 'int', value: 0xfffe })).toBe(65_534);
  });

  it('is no reading for a value of another oneof case than its datatype’s', () => {
    expect(readingValue(DataType.Double, { case: 'string', value: '1' })).toBeUndefined();
    expect(readingValue(DataType.Int64, { case: 'int', value: 1 })).toBeUndefined();
    expect(readingValue(DataType.Boolean, { case: undefined })).toBeUndefined();
  });
});
