// fast-check generators for the fast-codec property tests: field values biased towards the edges
// (zero values, -0, NaN, range limits, lone surrogates), whole messages built with create(), arbitrary
// protobuf wire data (valid framing, random field numbers and wire types, nested and grouped), and
// byte-level mutations of any of it.
import { create } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { FeatureBatchSchema, MachineWindowSchema, SensorStatsSchema } from '../../gen/pdm/v1/features_pb.js';
import type { FeatureBatch, MachineWindow, SensorStats } from '../../gen/pdm/v1/features_pb.js';
import { SensorBatchSchema } from '../../gen/pdm/v1/sensor_pb.js';
import type { SensorBatch } from '../../gen/pdm/v1/sensor_pb.js';

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;

export const int64 = fc.oneof(
  fc.constantFrom(0n, 1n, -1n, 127n, 128n, INT64_MIN, INT64_MAX, 1_764_000_000_000n, -(1n << 53n), 1n << 53n),
  fc.bigInt({ min: -100_000n, max: 100_000n }),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
);

export const uint32 = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 16_383, 16_384, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);

export const int32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, -1, -0x8000_0000, 0x7fff_ffff),
  fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
);

export const double = fc.oneof(
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MAX_VALUE, 1.5),
  fc.double(),
);

// One "character": any code point, one at a boundary between UTF-8 lengths, a lone surrogate
// (TextEncoder writes U+FFFD), or a BOM (which fromBinary's TextDecoder drops at the start of a string).
const anyCharacter = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.constantFrom('\u007f', '\u0080', '\u07ff', '\u0800', '\uffff', '\u{10000}', '\u{10ffff}'),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
  fc.constant('\uFEFF'),
);

export const text = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.string({ unit: anyCharacter, maxLength: 40 }),
);

const sensorStats: fc.Arbitrary<SensorStats> = fc
  .record({
    sensorId: text,
    count: uint32,
    expectedCount: uint32,
    mean: double,
    variance: double,
    std: double,
    min: double,
    max: double,
    rms: double,
    peakToPeak: double,
    skewness: double,
    kurtosis: double,
    crestFactor: double,
    lateCount: uint32,
  })
  .map((init) => create(SensorStatsSchema, init));

export const machineWindow: fc.Arbitrary<MachineWindow> = fc
  .record({
    gatewayId: text,
    siteId: text,
    machineId: text,
    windowStart: int64,
    windowEnd: int64,
    featureVersion: uint32,
    sensors: fc.array(sensorStats, { maxLength: 10 }),
    revision: uint32,
    closeReason: int32,
    closedAt: int64,
  })
  .map((init) => create(MachineWindowSchema, init));

export const featureBatch: fc.Arbitrary<FeatureBatch> = fc
  .record({ gatewayId: text, siteId: text, shard: uint32, windows: fc.array(machineWindow, { maxLength: 4 }) })
  .map((init) => create(FeatureBatchSchema, init));

const reading = fc.record({ ts: int64, value: double });

export const sensorBatch: fc.Arbitrary<SensorBatch> = fc
  .oneof(
    fc.constant({ case: undefined }),
    fc.record({ case: fc.constant('readings' as const), value: fc.record({ readings: fc.array(reading, { maxLength: 20 }) }) }),
    fc.record({
      case: fc.constant('block' as const),
      value: fc.record({ startTs: int64, hz: double, values: fc.array(double, { maxLength: 200 }) }),
    }),
  )
  .map((body) => create(SensorBatchSchema, { body }));

const fieldNo = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 16 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 0x1fff_ffff }) },
);

function written(write: (writer: BinaryWriter) => void): Uint8Array {
  const writer = new BinaryWriter();
  write(writer);
  return writer.finish();
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Protobuf wire data with valid framing but anything in it: known and unknown field numbers with any wire
 * type, varints of every length (overlong too), doubles, strings, raw bytes, nested messages and groups
 * (sometimes closed with the wrong field number).
 */
export const wireMessage: fc.Arbitrary<Uint8Array> = fc.letrec<{ message: Uint8Array; field: Uint8Array }>((tie) => ({
  message: fc.array(tie('field'), { maxLength: 8, depthIdentifier: 'wire' }).map(concat),
  field: fc.oneof(
    { depthSize: 'small', depthIdentifier: 'wire' },
    fc.tuple(fieldNo, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([no, v]) => written((w) => w.tag(no, WireType.Varint).uint64(v))),
    fc.tuple(fieldNo, fc.uint8Array({ minLength: 1, maxLength: 12 })).map(([no, raw]) =>
      // a varint made of raw groups: continuation on all but the last byte, of any length
      written((w) => w.tag(no, WireType.Varint).raw(raw.map((b, i) => (i < raw.length - 1 ? b | 0x80 : b & 0x7f)))),
    ),
    fc.tuple(fieldNo, double).map(([no, v]) => written((w) => w.tag(no, WireType.Bit64).double(v))),
    fc.tuple(fieldNo, fc.integer({ min: 0, max: 0xffff_ffff })).map(([no, v]) => written((w) => w.tag(no, WireType.Bit32).fixed32(v))),
    fc.tuple(fieldNo, text).map(([no, s]) => written((w) => w.tag(no, WireType.LengthDelimited).string(s))),
    fc.tuple(fieldNo, fc.uint8Array({ maxLength: 24 })).map(([no, raw]) => written((w) => w.tag(no, WireType.LengthDelimited).bytes(raw))),
    fc.tuple(fieldNo, fc.array(double, { maxLength: 12 })).map(([no, values]) =>
      written((w) => {
        w.tag(no, WireType.LengthDelimited).fork();
        for (const v of values) w.double(v);
        w.join();
      }),
    ),
    fc.tuple(fieldNo, tie('message')).map(([no, inner]) => written((w) => w.tag(no, WireType.LengthDelimited).bytes(inner))),
    fc.tuple(fieldNo, tie('message'), fc.boolean()).map(([no, inner, matching]) =>
      written((w) => w.tag(no, WireType.StartGroup).raw(inner).tag(matching ? no : no + 1, WireType.EndGroup)),
    ),
    fieldNo.map((no) => written((w) => w.tag(no, WireType.EndGroup))),
  ),
})).message;

type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; value: number }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = Array.from(bytes);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + (m.kind === 'insert' ? 1 : 0));
    if (m.kind === 'set' && out.length > 0) out[at] = m.value;
    if (m.kind === 'insert') out.splice(at, 0, m.value);
    if (m.kind === 'delete') out.splice(at, 1);
    if (m.kind === 'truncate') out = out.slice(0, at);
  }
  return Uint8Array.from(out);
}

/** `bytes` with one to four random edits: a byte overwritten, inserted or deleted, or the tail cut off. */
export function mutated(bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(bytes, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([b, m]) => mutate(b, m));
}
