import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { double, int32, int64, text, uint32 } from './test-support/arbitraries.js';
import { WireWriter, int32Size, int64Size, lengthDelimitedSize, unknownFieldsSize, utf8Length, varintSize } from './wire-writer.js';

const longText = fc
  .tuple(fc.string({ unit: 'binary-ascii', maxLength: 200 }), text, fc.string({ unit: 'binary-ascii', maxLength: 200 }))
  .map((parts) => parts.join(''));

/** What our writer produces in a buffer of `size` bytes, which must be exactly filled. */
function ours(size: number, write: (writer: WireWriter) => void): Uint8Array {
  const writer = new WireWriter(size);
  write(writer);
  return writer.finish();
}

function reference(write: (writer: BinaryWriter) => void): Uint8Array {
  const writer = new BinaryWriter();
  write(writer);
  return writer.finish();
}

describe('WireWriter writes what BinaryWriter writes, in the bytes its size functions predict', () => {
  it('uint32 varints', () => {
    fc.assert(
      fc.property(uint32, (value) => {
        expect(ours(varintSize(value), (w) => w.uint32(value))).toStrictEqual(reference((w) => w.uint32(value)));
      }),
      { numRuns: 1000 },
    );
  });

  it('int32 varints, negative ones sign-extended to 10 bytes', () => {
    fc.assert(
      fc.property(int32, (value) => {
        expect(ours(int32Size(value), (w) => w.int32(value))).toStrictEqual(reference((w) => w.int32(value)));
      }),
      { numRuns: 1000 },
    );
    expect(ours(10, (w) => w.int32(-1))).toStrictEqual(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
  });

  it('int64 varints, as 64-bit two’s complement', () => {
    fc.assert(
      fc.property(int64, (value) => {
        expect(ours(int64Size(value), (w) => w.int64(value))).toStrictEqual(reference((w) => w.int64(value)));
      }),
      { numRuns: 1000 },
    );
    expect(int64Size(-1n)).toBe(10);
    expect(int64Size((1n << 63n) - 1n)).toBe(9);
  });

  it('doubles, little-endian, -0 and NaN included', () => {
    fc.assert(
      fc.property(double, (value) => {
        expect(ours(8, (w) => w.double(value))).toStrictEqual(reference((w) => w.double(value)));
      }),
    );
  });

  it('strings as TextEncoder encodes them, lone surrogates as U+FFFD', () => {
    // Long strings too: from 128 UTF-16 units on, the writer does not try ASCII first.
    const anyLength = fc.oneof(text, fc.string({ unit: 'binary-ascii', minLength: 100, maxLength: 300 }), longText);
    fc.assert(
      fc.property(anyLength, (value) => {
        const size = lengthDelimitedSize(utf8Length(value));
        expect(ours(size, (w) => w.string(value))).toStrictEqual(reference((w) => w.string(value)));
      }),
      { numRuns: 1000 },
    );
    expect(ours(4, (w) => w.string('\uD800'))).toStrictEqual(Uint8Array.from([3, 0xef, 0xbf, 0xbd]));
  });

  it('unknown fields as toBinary writes them back: tag, then the raw data', () => {
    const fields = [
      { no: 20, wireType: WireType.Varint, data: Uint8Array.from([0x96, 0x01]) },
      { no: 1 << 28, wireType: WireType.LengthDelimited, data: Uint8Array.from([2, 0x61, 0x62]) },
    ];
    expect(ours(unknownFieldsSize(fields), (w) => w.unknownFields(fields))).toStrictEqual(
      reference((w) => {
        for (const f of fields) w.tag(f.no, f.wireType).raw(f.data);
      }),
    );
    expect(unknownFieldsSize(undefined)).toBe(0);
  });

  it('hands out each region of its shared slabs once: earlier messages are never overwritten', () => {
    const sizes = fc.sample(fc.integer({ min: 1, max: 5000 }), { numRuns: 2000, seed: 42 });
    // Message i is `size` bytes of value i % 128 (each a one-byte varint).
    const messages = sizes.map((size, i) =>
      ours(size, (w) => {
        for (let k = 0; k < size; k++) w.uint32(i % 128);
      }),
    );
    messages.forEach((bytes, i) => {
      expect(bytes.length).toBe(sizes[i]);
      expect(bytes.every((b) => b === i % 128)).toBe(true);
    });
  });

  it('refuses to hand out a buffer it did not fill exactly', () => {
    expect(() => ours(3, (w) => w.uint32(1))).toThrow(/wrote 1 bytes into a message measured at 3/);
    expect(() => ours(1, (w) => w.uint32(300))).toThrow(/wrote 2 bytes into a message measured at 1/);
  });
});
