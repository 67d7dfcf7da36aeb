import { create, fromBinary, isMessage, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SensorBatchSchema } from '../gen/pdm/v1/sensor_pb.js';
import { decodeSensorBatch } from './sensor-batch-codec.js';
import { double, mutated, sensorBatch, wireMessage } from './test-support/arbitraries.js';
import { expectSameOutcome } from './test-support/equivalence.js';

const reference = (bytes: Uint8Array) => fromBinary(SensorBatchSchema, bytes, { readUnknownFields: false });

function expectSameDecode(bytes: Uint8Array): void {
  expectSameOutcome(() => decodeSensorBatch(bytes), () => reference(bytes));
}

function wire(write: (writer: BinaryWriter) => void): Uint8Array {
  const writer = new BinaryWriter();
  write(writer);
  return writer.finish();
}

/** A `block` field (2) holding what `write` writes. */
function block(writer: BinaryWriter, write: (inner: BinaryWriter) => void): BinaryWriter {
  writer.tag(2, WireType.LengthDelimited).fork();
  write(writer);
  return writer.join();
}

function packedValues(writer: BinaryWriter, values: readonly number[]): BinaryWriter {
  writer.tag(3, WireType.LengthDelimited).fork();
  for (const v of values) writer.double(v);
  return writer.join();
}

function unpackedValues(writer: BinaryWriter, values: readonly number[]): BinaryWriter {
  for (const v of values) writer.tag(3, WireType.Bit64).double(v);
  return writer;
}

/** A `readings` field (1) with one Reading per timestamp, its value the timestamp / 10. */
function readings(writer: BinaryWriter, timestamps: readonly bigint[]): BinaryWriter {
  writer.tag(1, WireType.LengthDelimited).fork();
  for (const ts of timestamps) {
    writer.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(ts).tag(2, WireType.Bit64).double(Number(ts) / 10).join();
  }
  return writer.join();
}

describe('decodeSensorBatch', () => {
  it('gives fromBinary’s message for any encoded batch: a real protobuf-es message', () => {
    fc.assert(
      fc.property(sensorBatch, (batch) => {
        const bytes = toBinary(SensorBatchSchema, batch);
        const decoded = decodeSensorBatch(bytes);
        expect(decoded).toStrictEqual(reference(bytes));
        expect(decoded).toStrictEqual(batch);
        expect(isMessage(decoded, SensorBatchSchema)).toBe(true);
        expect(toBinary(SensorBatchSchema, decoded)).toStrictEqual(bytes);
      }),
      { numRuns: 500 },
    );
    expect(decodeSensorBatch(new Uint8Array())).toStrictEqual(create(SensorBatchSchema));
  });

  it('matches fromBinary on damaged encodings: bytes changed, inserted, deleted, cut off', () => {
    fc.assert(
      fc.property(mutated(sensorBatch.map((batch) => toBinary(SensorBatchSchema, batch))), expectSameDecode),
      { numRuns: 3000 },
    );
  });

  it('matches fromBinary on arbitrary wire data and on random bytes', () => {
    fc.assert(fc.property(wireMessage, expectSameDecode), { numRuns: 3000 });
    fc.assert(fc.property(mutated(wireMessage), expectSameDecode), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), expectSameDecode), { numRuns: 3000 });
  });

  it('reads values packed, unpacked, and both mixed, in wire order', () => {
    fc.assert(
      fc.property(fc.array(double, { maxLength: 30 }), fc.array(double, { maxLength: 30 }), (first, second) => {
        const expected = create(SensorBatchSchema, { body: { case: 'block', value: { values: [...first, ...second] } } });
        for (const bytes of [
          wire((w) => block(w, (b) => packedValues(b, [...first, ...second]))),
          wire((w) => block(w, (b) => unpackedValues(b, [...first, ...second]))),
          wire((w) => block(w, (b) => unpackedValues(packedValues(b, first), second))),
        ]) {
          expectSameDecode(bytes);
          expect(decodeSensorBatch(bytes)).toStrictEqual(expected);
        }
      }),
    );
  });

  it('reads a packed run whose length is not a multiple of 8 as fromBinary does', () => {
    // A 10-byte packed run: its second double takes 6 bytes beyond the run, then reading goes on after it.
    const overrun = Uint8Array.from([0x12, 0x14, 0x1a, 0x0a, ...new Uint8Array(16), 0x08, 0x01]);
    expectSameDecode(overrun);
    expect(decodeSensorBatch(overrun)).toMatchObject({ body: { case: 'block', value: { values: [0, 0], startTs: 1n } } });
    // … unless those bytes are not there.
    const cutOff = Uint8Array.from([0x12, 0x0c, 0x1a, 0x0a, ...new Uint8Array(8), 0x11, 0x00]);
    expectSameDecode(cutOff);
    expect(() => decodeSensorBatch(cutOff)).toThrow(RangeError);
  });

  it('lets the last body field win', () => {
    const blockThenReadings = wire((w) => readings(block(w, (b) => packedValues(b, [1, 2])), [5n]));
    expectSameDecode(blockThenReadings);
    expect(decodeSensorBatch(blockThenReadings).body).toStrictEqual(
      create(SensorBatchSchema, { body: { case: 'readings', value: { readings: [{ ts: 5n, value: 0.5 }] } } }).body,
    );
    const readingsThenBlock = wire((w) => block(readings(w, [5n]), (b) => b.tag(2, WireType.Bit64).double(100)));
    expectSameDecode(readingsThenBlock);
    expect(decodeSensorBatch(readingsThenBlock).body).toStrictEqual(create(SensorBatchSchema, { body: { case: 'block', value: { hz: 100 } } }).body);
  });

  it('merges a repeated body field into the one before it: lists append, scalars are replaced', () => {
    const twoBlocks = wire((w) =>
      block(
        block(w, (b) => packedValues(b.tag(1, WireType.Varint).int64(7n).tag(2, WireType.Bit64).double(50), [1, 2])),
        (b) => packedValues(b.tag(2, WireType.Bit64).double(100), [3]),
      ),
    );
    expectSameDecode(twoBlocks);
    expect(decodeSensorBatch(twoBlocks)).toStrictEqual(
      create(SensorBatchSchema, { body: { case: 'block', value: { startTs: 7n, hz: 100, values: [1, 2, 3] } } }),
    );
    const twoReadings = wire((w) => readings(readings(w, [1n, 2n]), [3n]));
    expectSameDecode(twoReadings);
    expect(decodeSensorBatch(twoReadings).body.value).toMatchObject({ readings: [{ ts: 1n }, { ts: 2n }, { ts: 3n }] });
    // A block in between starts the readings afresh.
    const interrupted = wire((w) => readings(block(readings(w, [1n, 2n]), () => undefined), [3n]));
    expectSameDecode(interrupted);
    expect(decodeSensorBatch(interrupted).body.value).toMatchObject({ readings: [{ ts: 3n }] });
  });

  it('skips unknown fields of every wire type at every level', () => {
    const unknown = (w: BinaryWriter) =>
      w
        .tag(20, WireType.Varint)
        .int64(-1n)
        .tag(21, WireType.Bit64)
        .fixed64(3n)
        .tag(22, WireType.LengthDelimited)
        .string('x')
        .tag(23, WireType.Bit32)
        .float(1)
        .tag(24, WireType.StartGroup)
        .tag(25, WireType.StartGroup)
        .tag(25, WireType.EndGroup)
        .tag(24, WireType.EndGroup);
    const readingsBatch = wire((w) => {
      unknown(w).tag(1, WireType.LengthDelimited).fork();
      unknown(w).tag(1, WireType.LengthDelimited).fork();
      unknown(w).tag(1, WireType.Varint).int64(9n).join();
      unknown(w).join();
    });
    expectSameDecode(readingsBatch);
    expect(decodeSensorBatch(readingsBatch)).toStrictEqual(create(SensorBatchSchema, { body: { case: 'readings', value: { readings: [{ ts: 9n }] } } }));
    const blockBatch = wire((w) => unknown(block(unknown(w), (b) => packedValues(unknown(b), [4]))));
    expectSameDecode(blockBatch);
    expect(decodeSensorBatch(blockBatch)).toStrictEqual(create(SensorBatchSchema, { body: { case: 'block', value: { values: [4] } } }));
  });

  it('throws where fromBinary throws on framing errors', () => {
    const invalid: Array<[string, number[]]> = [
      ['a stray end-group tag', [0x24]],
      ['a block longer than the input', [0x12, 0x05, 0x11]],
      ['a packed run cut off', [0x12, 0x0a, 0x1a, 0x08, 0, 0, 0, 0]],
      ['an 11-byte timestamp varint', [0x0a, 0x0e, 0x0a, 0x0c, 0x08, ...Array<number>(10).fill(0xff), 0x01]],
      ['wire type 6', [0x0e]],
    ];
    for (const [name, bytes] of invalid) {
      const input = Uint8Array.from(bytes);
      expect(() => reference(input), name).toThrow();
      expect(() => decodeSensorBatch(input), name).toThrow(Error);
    }
  });

  it('decodes from a view into a larger buffer (e.g. a pooled Buffer)', () => {
    const batch = create(SensorBatchSchema, { body: { case: 'block', value: { startTs: 1n, hz: 1000, values: [1.5, -2.5, 3] } } });
    const bytes = toBinary(SensorBatchSchema, batch);
    const padded = new Uint8Array(bytes.length + 16).fill(0xff);
    padded.set(bytes, 5);
    expect(decodeSensorBatch(padded.subarray(5, 5 + bytes.length))).toStrictEqual(batch);
  });
});
