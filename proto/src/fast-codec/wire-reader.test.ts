import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectSameOutcome } from './test-support/equivalence.js';
import { WireReader } from './wire-reader.js';

// Bytes with long runs of continuation bits, so varints of every length (and overlong ones) come up.
const varintish = fc.array(fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0, max: 0xff })), { maxLength: 14 }).map((b) => Uint8Array.from(b));

/** Reads with both readers from the same bytes; the value and where each reader stopped must agree. */
function expectSameRead<T>(bytes: Uint8Array, ours: (r: WireReader) => T, reference: (r: BinaryReader) => T): void {
  expectSameOutcome(
    () => {
      const r = new WireReader(bytes);
      return [ours(r), r.pos];
    },
    () => {
      const r = new BinaryReader(bytes);
      return [reference(r), r.pos];
    },
  );
}

describe('WireReader reads what BinaryReader reads, and throws where it throws', () => {
  it('uint32 and int32 varints: up to 10 bytes, low 32 bits kept', () => {
    fc.assert(
      fc.property(varintish, (bytes) => {
        expectSameRead(bytes, (r) => r.uint32(), (r) => r.uint32());
        expectSameRead(bytes, (r) => r.int32(), (r) => r.int32());
      }),
      { numRuns: 3000 },
    );
    expect(() => new WireReader(Uint8Array.from([0x80, 0x80])).uint32()).toThrow(RangeError);
    expect(() => new WireReader(new Uint8Array(11).fill(0x80)).uint32()).toThrow('invalid varint');
  });

  it('int64 varints', () => {
    fc.assert(
      fc.property(varintish, (bytes) => expectSameRead(bytes, (r) => r.int64(), (r) => r.int64())),
      { numRuns: 3000 },
    );
    const minusOne = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(new WireReader(minusOne).int64()).toBe(-1n);
  });

  it('int64 values over the whole range, as BinaryWriter writes them', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (value) => {
        expect(new WireReader(new BinaryWriter().int64(value).finish()).int64()).toBe(value);
      }),
    );
  });

  it('tags: field number 0, wire types 6 and 7 and tags over 32 bits are illegal', () => {
    fc.assert(
      fc.property(varintish, (bytes) => expectSameRead(bytes, (r) => r.tag(), (r) => {
        const [no, wireType] = r.tag();
        return ((no << 3) | wireType) >>> 0;
      })),
      { numRuns: 3000 },
    );
    expect(() => new WireReader(Uint8Array.from([0x0e])).tag()).toThrow(/wire type 6/);
    expect(() => new WireReader(Uint8Array.from([0x02])).tag()).toThrow(/field no 0/);
  });

  it('doubles, and a double running past the end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 10 }), (bytes) => expectSameRead(bytes, (r) => r.double(), (r) => r.double())),
    );
  });

  it('strings: valid UTF-8, invalid UTF-8 (throws), a leading BOM (dropped), lengths past the end', () => {
    const utf8ish = fc.array(fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xff })), { maxLength: 40 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 45 }), utf8ish, (length, content) => {
        const bytes = Uint8Array.from([length, ...content]);
        expectSameRead(bytes, (r) => r.string(), (r) => r.string(true));
      }),
      { numRuns: 3000 },
    );
    expect(new WireReader(Uint8Array.from([5, 0xef, 0xbb, 0xbf, 0x68, 0x69])).string()).toBe('hi');
    expect(() => new WireReader(Uint8Array.from([1, 0xff])).string()).toThrow(TypeError);
  });

  it('length-delimited bytes: a view into the input, lengths past the end throw', () => {
    fc.assert(
      fc.property(varintish, fc.uint8Array({ maxLength: 40 }), (length, content) => {
        expectSameRead(Uint8Array.from([...length, ...content]), (r) => r.delimited(), (r) => r.bytes());
      }),
      { numRuns: 3000 },
    );
    const input = Uint8Array.from([2, 7, 8, 9]);
    const value = new WireReader(input).delimited();
    expect(value).toStrictEqual(Uint8Array.from([7, 8]));
    expect([value.buffer, value.byteOffset]).toStrictEqual([input.buffer, 1]);
  });

  it('skips every wire type as BinaryReader.skip does, groups included', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 3 }), fc.uint8Array({ maxLength: 24 }), (wireType, fieldNo, bytes) => {
        expectSameRead(
          bytes,
          (r) => r.skip((fieldNo << 3) | wireType, 1),
          (r) => {
            r.skip(wireType, fieldNo, 99);
          },
        );
      }),
      { numRuns: 5000 },
    );
  });

  it('skips at most 99 nested groups in a top-level message, as fromBinary’s recursion limit allows', () => {
    const nested = (depth: number) => Uint8Array.from([...Array<number>(depth - 1).fill(0x0b), ...Array<number>(depth).fill(0x0c)]);
    const within = new WireReader(nested(99));
    within.skip(0x0b, 1);
    expect(within.pos).toBe(197);
    expect(() => new WireReader(nested(100)).skip(0x0b, 1)).toThrow('maximum recursion depth reached');
    expect(() => new BinaryReader(nested(100)).skip(WireType.StartGroup, 1, 99)).toThrow('maximum recursion depth reached');
  });
});
