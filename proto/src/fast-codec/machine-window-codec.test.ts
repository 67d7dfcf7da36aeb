import { create, fromBinary, isMessage, toBinary } from '@bufbuild/protobuf';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CloseReason, MachineWindowSchema, SensorStatsSchema } from '../gen/pdm/v1/features_pb.js';
import type { MachineWindow } from '../gen/pdm/v1/features_pb.js';
import { decodeMachineWindow, encodeMachineWindow } from './machine-window-codec.js';
import { INT64_MAX, INT64_MIN, int32, int64, machineWindow, mutated, uint32, wireMessage } from './test-support/arbitraries.js';
import { expectSameOutcome } from './test-support/equivalence.js';

const reference = (bytes: Uint8Array) => fromBinary(MachineWindowSchema, bytes, { readUnknownFields: false });

function expectSameDecode(bytes: Uint8Array): void {
  expectSameOutcome(() => decodeMachineWindow(bytes), () => reference(bytes));
}

function expectSameEncode(window: MachineWindow): void {
  expectSameOutcome(() => encodeMachineWindow(window), () => toBinary(MachineWindowSchema, window));
}

function wire(write: (writer: BinaryWriter) => void): Uint8Array {
  const writer = new BinaryWriter();
  write(writer);
  return writer.finish();
}

function stats(writer: BinaryWriter, sensorId: string, count: number): BinaryWriter {
  return writer.tag(7, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(sensorId).tag(2, WireType.Varint).uint32(count).join();
}

const window = create(MachineWindowSchema, {
  gatewayId: 'gw-1',
  siteId: 'plant-a',
  machineId: 'pump-07',
  windowStart: 1_764_000_000_000n,
  windowEnd: 1_764_000_010_000n,
  featureVersion: 1,
  sensors: Array.from({ length: 8 }, (_, i) => ({ sensorId: `vib_${i}`, count: 1000, expectedCount: 1000, mean: 0.01 * i, max: 0.08, kurtosis: 3.2, lateCount: i })),
  revision: 2,
  closeReason: CloseReason.LATE_REVISION,
  closedAt: 1_764_000_010_250n,
});

describe('encodeMachineWindow', () => {
  it('writes toBinary’s bytes for any window', () => {
    fc.assert(
      fc.property(machineWindow, (w) => {
        const bytes = encodeMachineWindow(w);
        expect(bytes).toStrictEqual(toBinary(MachineWindowSchema, w));
      }),
      { numRuns: 500 },
    );
  });

  it('writes the edge values as toBinary does', () => {
    const cases: Array<[string, MessageInitShape<typeof MachineWindowSchema>, number[]]> = [
      ['all zero values: nothing', {}, []],
      ['-0 is written, +0 is not', { sensors: [{ mean: -0, max: 0 }] }, [0x3a, 9, 0x21, 0, 0, 0, 0, 0, 0, 0, 0x80]],
      ['NaN is written', { sensors: [{ std: NaN }] }, [0x3a, 9, 0x31, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f]],
      ['a negative enum takes 10 bytes', { closeReason: -1 as CloseReason }, [0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
      ['a negative int64 takes 10 bytes', { closedAt: -2n }, [0x50, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
      ['int64 max', { windowStart: INT64_MAX }, [0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
      ['uint32 max', { revision: 0xffff_ffff }, [0x40, 0xff, 0xff, 0xff, 0xff, 0x0f]],
      ['a lone surrogate becomes U+FFFD', { gatewayId: 'a\uDC00' }, [0x0a, 4, 0x61, 0xef, 0xbf, 0xbd]],
      ['a surrogate pair is one 4-byte character', { siteId: '\u{1F600}' }, [0x12, 4, 0xf0, 0x9f, 0x98, 0x80]],
      ['an empty SensorStats is still written', { sensors: [{}] }, [0x3a, 0]],
    ];
    for (const [name, init, expected] of cases) {
      const w = create(MachineWindowSchema, init);
      expect(encodeMachineWindow(w), name).toStrictEqual(Uint8Array.from(expected));
      expect(toBinary(MachineWindowSchema, w), name).toStrictEqual(Uint8Array.from(expected));
    }
  });

  it('throws where toBinary throws: integers out of range or not integers', () => {
    const notUint32 = fc.oneof(uint32, fc.constantFrom(-1, 0x1_0000_0000, 1.5, NaN, Infinity), fc.double());
    const notInt32 = fc.oneof(int32, fc.constantFrom(0x8000_0000, -0x8000_0001, 0.5, NaN), fc.double());
    const notInt64 = fc.oneof(int64, fc.constantFrom(INT64_MAX + 1n, INT64_MIN - 1n, 1n << 64n));
    fc.assert(
      fc.property(machineWindow, notUint32, notInt32, notInt64, notUint32, (w, featureVersion, closeReason, closedAt, count) => {
        expectSameEncode({ ...w, featureVersion, closeReason, closedAt });
        expectSameEncode({ ...w, sensors: [create(SensorStatsSchema, { count })] });
      }),
      { numRuns: 500 },
    );
    expect(() => encodeMachineWindow({ ...window, revision: -1 })).toThrow('cannot encode field pdm.v1.MachineWindow.revision to binary: invalid uint32: -1');
    expect(() => encodeMachineWindow({ ...window, closeReason: 2 ** 31 })).toThrow('invalid int32: 2147483648');
    expect(() => encodeMachineWindow({ ...window, windowEnd: 1n << 63n })).toThrow('invalid int64: 9223372036854775808');
  });

  it('throws where toBinary throws: a message of another type', () => {
    const stranger = create(SensorStatsSchema) as unknown as MachineWindow;
    expectSameEncode(stranger);
    expect(() => encodeMachineWindow(stranger)).toThrow(/message pdm\.v1\.MachineWindow/);
    const badSensor = { ...window, sensors: [window] } as unknown as MachineWindow;
    expectSameEncode(badSensor);
    expect(() => encodeMachineWindow(badSensor)).toThrow(/message pdm\.v1\.SensorStats/);
  });

  it('throws, rather than coerce as toBinary does, on JavaScript types the generated types exclude', () => {
    const coerced = [
      { ...window, revision: '5' },
      { ...window, gatewayId: 5 },
      { ...window, windowStart: 5 },
      { ...window, sensors: [{ ...window.sensors[0], mean: '0.5' }] },
    ] as unknown as MachineWindow[];
    for (const w of coerced) {
      expect(() => toBinary(MachineWindowSchema, w)).not.toThrow();
      expect(() => encodeMachineWindow(w)).toThrow(/cannot encode field pdm\.v1\.\w+\.\w+ to binary: invalid/);
    }
  });

  it('writes unknown fields back after the known ones, as toBinary does', () => {
    // Unknown fields come from decoding with fromBinary's default readUnknownFields: true.
    fc.assert(
      fc.property(machineWindow, wireMessage, (w, extra) => {
        const bytes = new Uint8Array([...toBinary(MachineWindowSchema, w), ...extra]);
        let withUnknown: MachineWindow;
        try {
          withUnknown = fromBinary(MachineWindowSchema, bytes);
        } catch {
          fc.pre(false);
          return;
        }
        expect(encodeMachineWindow(withUnknown)).toStrictEqual(toBinary(MachineWindowSchema, withUnknown));
      }),
      { numRuns: 300 },
    );
    const withUnknown = fromBinary(MachineWindowSchema, wire((w) => w.tag(20, WireType.Bit32).fixed32(7).tag(1, WireType.LengthDelimited).string('g')));
    expect(withUnknown.$unknown).toHaveLength(1);
    expect(encodeMachineWindow(withUnknown)).toStrictEqual(Uint8Array.from([0x0a, 1, 0x67, 0xa5, 0x01, 7, 0, 0, 0]));
  });

  it('never overwrites bytes it returned (they may be a view into a shared buffer)', () => {
    const first = encodeMachineWindow(window);
    const copy = first.slice();
    encodeMachineWindow({ ...window, gatewayId: 'other', sensors: [] });
    expect(first).toStrictEqual(copy);
  });
});

describe('decodeMachineWindow', () => {
  it('gives fromBinary’s message for any encoded window: a real protobuf-es message', () => {
    fc.assert(
      fc.property(machineWindow, (w) => {
        const bytes = toBinary(MachineWindowSchema, w);
        const decoded = decodeMachineWindow(bytes);
        expect(decoded).toStrictEqual(reference(bytes));
        expect(isMessage(decoded, MachineWindowSchema)).toBe(true);
        // Not always `bytes`: fromBinary drops a leading BOM from strings.
        expect(toBinary(MachineWindowSchema, decoded)).toStrictEqual(toBinary(MachineWindowSchema, reference(bytes)));
      }),
      { numRuns: 500 },
    );
    expect(decodeMachineWindow(toBinary(MachineWindowSchema, window))).toStrictEqual(window);
    expect(decodeMachineWindow(new Uint8Array())).toStrictEqual(create(MachineWindowSchema));
  });

  it('keeps -0 and NaN', () => {
    const decoded = decodeMachineWindow(encodeMachineWindow(create(MachineWindowSchema, { sensors: [{ mean: -0, std: NaN }] })));
    expect(Object.is(decoded.sensors[0]?.mean, -0)).toBe(true);
    expect(decoded.sensors[0]?.std).toBeNaN();
  });

  it('matches fromBinary on damaged encodings: bytes changed, inserted, deleted, cut off', () => {
    fc.assert(
      fc.property(mutated(machineWindow.map((w) => toBinary(MachineWindowSchema, w))), expectSameDecode),
      { numRuns: 3000 },
    );
  });

  it('matches fromBinary on arbitrary wire data and on random bytes', () => {
    fc.assert(fc.property(wireMessage, expectSameDecode), { numRuns: 3000 });
    fc.assert(fc.property(mutated(wireMessage), expectSameDecode), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), expectSameDecode), { numRuns: 3000 });
  });

  it('matches fromBinary on every prefix of a valid encoding (truncation)', () => {
    const bytes = toBinary(MachineWindowSchema, window);
    for (let end = 0; end <= bytes.length; end++) expectSameDecode(bytes.subarray(0, end));
    expect(() => decodeMachineWindow(bytes.subarray(0, bytes.length - 1))).toThrow(RangeError);
  });

  it('reads fields in any order', () => {
    const bytes = wire((w) => {
      w.tag(10, WireType.Varint).int64(5n).tag(9, WireType.Varint).int32(CloseReason.SHUTDOWN);
      stats(w, 'b', 2).tag(3, WireType.LengthDelimited).string('m').tag(1, WireType.LengthDelimited).string('g');
    });
    expectSameDecode(bytes);
    expect(decodeMachineWindow(bytes)).toStrictEqual(
      create(MachineWindowSchema, { gatewayId: 'g', machineId: 'm', sensors: [{ sensorId: 'b', count: 2 }], closeReason: CloseReason.SHUTDOWN, closedAt: 5n }),
    );
  });

  it('lets the last occurrence of a scalar win and appends every occurrence of sensors', () => {
    const bytes = wire((w) => {
      w.tag(1, WireType.LengthDelimited).string('first').tag(6, WireType.Varint).uint32(1);
      stats(w, 'a', 1);
      w.tag(1, WireType.LengthDelimited).string('last').tag(6, WireType.Varint).uint32(0);
      stats(w, 'b', 2);
    });
    expectSameDecode(bytes);
    const decoded = decodeMachineWindow(bytes);
    expect(decoded.gatewayId).toBe('last');
    expect(decoded.featureVersion).toBe(0);
    expect(decoded.sensors.map((s) => s.sensorId)).toStrictEqual(['a', 'b']);
  });

  it('skips unknown fields of every wire type, groups (nested) included, at both levels', () => {
    // Field numbers 21-25 are unknown to both MachineWindow and SensorStats.
    const unknown = (w: BinaryWriter) =>
      w
        .tag(21, WireType.Varint)
        .uint64(1n << 63n)
        .tag(22, WireType.Bit64)
        .double(1.5)
        .tag(23, WireType.LengthDelimited)
        .bytes(Uint8Array.from([1, 2, 3]))
        .tag(24, WireType.Bit32)
        .fixed32(9)
        .tag(25, WireType.StartGroup)
        .tag(1, WireType.Varint)
        .uint32(1)
        .tag(26, WireType.StartGroup)
        .tag(26, WireType.EndGroup)
        .tag(25, WireType.EndGroup);
    const bytes = wire((w) => {
      unknown(w.tag(1, WireType.LengthDelimited).string('g'));
      w.tag(7, WireType.LengthDelimited).fork();
      unknown(w.tag(20, WireType.Varint).uint32(1)).tag(1, WireType.LengthDelimited).string('s').join();
    });
    expectSameDecode(bytes);
    expect(decodeMachineWindow(bytes)).toStrictEqual(create(MachineWindowSchema, { gatewayId: 'g', sensors: [{ sensorId: 's' }] }));
  });

  it('throws where fromBinary throws on framing errors', () => {
    const invalid: Array<[string, number[]]> = [
      ['a stray end-group tag', [0x5c]],
      ['a group closed with another field number', [0x5b, 0x64]],
      ['an unclosed group', [0x5b, 0x08, 0x01]],
      ['an 11-byte varint', [0x20, ...Array<number>(10).fill(0x80), 0x01]],
      ['a varint cut off', [0x20, 0x80]],
      ['a string longer than the input', [0x0a, 0x05, 0x61]],
      ['a double cut off', [0x3a, 0x09, 0x21, 0, 0, 0]],
      ['field number 0', [0x02, 0x00]],
      ['wire type 7', [0x0f]],
      ['invalid UTF-8', [0x0a, 0x02, 0xc3, 0x28]],
    ];
    for (const [name, bytes] of invalid) {
      const input = Uint8Array.from(bytes);
      expect(() => reference(input), name).toThrow();
      expect(() => decodeMachineWindow(input), name).toThrow(Error);
    }
  });

  it('reads a known field as its declared type whatever wire type the tag claims, as fromBinary does', () => {
    // Field 4 (int64) tagged as fixed64, field 6 (uint32) as length-delimited, field 1 (string) as end-group.
    const bytes = Uint8Array.from([0x21, 0x05, 0x32, 0x07, 0x0c, 0x01, 0x61]);
    expectSameDecode(bytes);
    expect(decodeMachineWindow(bytes)).toMatchObject({ windowStart: 5n, featureVersion: 7, gatewayId: 'a' });
  });

  it('reads on past the end of a nested message whose last field overruns it, as fromBinary does', () => {
    // sensors of length 2, whose sensor_id (length 3) runs one byte past it into the window.
    const bytes = Uint8Array.from([0x3a, 0x02, 0x0a, 0x03, 0x61, 0x62, 0x63, 0x30, 0x04]);
    expectSameDecode(bytes);
    expect(decodeMachineWindow(bytes)).toMatchObject({ sensors: [{ sensorId: 'abc' }], featureVersion: 4 });
  });

  it('decodes from a view into a larger buffer (e.g. a pooled Buffer)', () => {
    const bytes = toBinary(MachineWindowSchema, window);
    const padded = new Uint8Array(bytes.length + 16).fill(0xff);
    padded.set(bytes, 7);
    expect(decodeMachineWindow(padded.subarray(7, 7 + bytes.length))).toStrictEqual(window);
    expect(decodeMachineWindow(Buffer.from(bytes))).toStrictEqual(window);
  });
});
