// Protobuf binary-format primitives for the hand-written decoders: a cursor over the input bytes (one
// DataView, no per-field allocation) that accepts and rejects exactly what @bufbuild/protobuf's
// BinaryReader does, because the decoders must give fromBinary's result or throw where it throws. In
// particular, like BinaryReader, the cursor checks reads against the end of the whole input only: a
// field that overruns its enclosing length-delimited message is read on, not rejected.
import { WireType, getTextEncoding } from '@bufbuild/protobuf/wire';

/** The wire type of a field tag (its field number is `tag >>> 3`). */
export function wireTypeOf(tag: number): WireType {
  return tag & 7;
}

/** fromBinary's default limit on message nesting; skipping unknown groups spends what is left of it. */
const RECURSION_LIMIT = 100;

// Joins the two 32-bit halves of an int64 without allocating (faster here than BigInt arithmetic).
const int64Halves = new DataView(new ArrayBuffer(8));

// Short ASCII strings (the ids) are built in JavaScript: a TextDecoder call costs more, and a
// MachineWindow has 11 of them. Anything else goes to fromBinary's own strict decoder, so the result is
// its result by construction.
const SHORT_STRING = 32;

function decodeUtf8(bytes: Uint8Array): string {
  return getTextEncoding().decodeUtf8(bytes, true);
}

function prematureEnd(): RangeError {
  return new RangeError('premature EOF');
}

/** The int64 whose two's complement halves are `lo` and `hi`. */
function int64FromHalves(lo: number, hi: number): bigint {
  int64Halves.setInt32(0, lo, true);
  int64Halves.setInt32(4, hi, true);
  return int64Halves.getBigInt64(0, true);
}

export class WireReader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  readonly length: number;
  pos = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.length;
  }

  private byte(): number {
    if (this.pos >= this.length) throw prematureEnd();
    return this.bytes[this.pos++] as number;
  }

  /** A field tag as one number: field number `tag >>> 3`, wire type `tag & 7`. */
  tag(): number {
    const start = this.pos;
    const tag = this.uint32();
    const read = this.pos - start;
    if (read > 5 || (read === 5 && (this.bytes[this.pos - 1] as number) > 0x0f)) {
      throw new Error('illegal tag: varint overflows uint32');
    }
    if (tag >>> 3 === 0 || wireTypeOf(tag) > WireType.Bit32) {
      throw new Error(`illegal tag: field no ${tag >>> 3} wire type ${tag & 7}`);
    }
    return tag;
  }

  /** A varint of up to 10 bytes, of which the low 32 bits count (as BinaryReader.uint32). */
  uint32(): number {
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result;
    }
    let b = this.byte();
    result |= (b & 0x0f) << 28;
    for (let read = 5; b >= 0x80; read++) {
      if (read === 10) throw new Error('invalid varint');
      b = this.byte();
    }
    return result >>> 0;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  int64(): bigint {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return int64FromHalves(lo, hi);
    }
    const middle = this.byte();
    lo |= (middle & 0x0f) << 28;
    hi = (middle & 0x70) >> 4;
    if (middle < 0x80) return int64FromHalves(lo, hi);
    for (let shift = 3; shift <= 31; shift += 7) {
      const b = this.byte();
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) return int64FromHalves(lo, hi);
    }
    throw new Error('invalid varint');
  }

  /** A little-endian double; past the end of the input, the DataView throws a RangeError. */
  double(): number {
    const pos = this.pos;
    this.pos = pos + 8;
    return this.view.getFloat64(pos, true);
  }

  /** A length prefix; returns where the delimited bytes end (which may lie past the input). */
  delimitedEnd(): number {
    const length = this.uint32();
    return this.pos + length;
  }

  /** A length-delimited value's bytes, as BinaryReader.bytes reads them: a view into the input, not a copy. */
  delimited(): Uint8Array {
    const start = this.passDelimited();
    return this.bytes.subarray(start, this.pos);
  }

  /** A UTF-8 string as fromBinary decodes it: invalid UTF-8 throws, a leading BOM is dropped. */
  string(): string {
    const start = this.passDelimited();
    const end = this.pos;
    const bytes = this.bytes;
    if (end - start <= SHORT_STRING) {
      let text = '';
      for (let i = start; i < end; i++) {
        const c = bytes[i] as number;
        if (c >= 0x80) return decodeUtf8(bytes.subarray(start, end));
        text += String.fromCharCode(c);
      }
      return text;
    }
    return decodeUtf8(bytes.subarray(start, end));
  }

  /** Moves past a length-delimited value, which must end within the input; returns where it starts. */
  private passDelimited(): number {
    const end = this.delimitedEnd();
    if (end > this.length) throw prematureEnd();
    const start = this.pos;
    this.pos = end;
    return start;
  }

  /**
   * Skips the value of a field with this `tag` that the decoder does not know, in a message nested
   * `depth` deep (1 for the top-level message), with BinaryReader.skip's rules: an end-group tag cannot
   * be skipped, and a group must close with its own field number.
   */
  skip(tag: number, depth: number): void {
    this.skipValue(tag, RECURSION_LIMIT - depth);
  }

  private skipValue(tag: number, recursionLimit: number): void {
    const wireType = wireTypeOf(tag);
    switch (wireType) {
      case WireType.Varint:
        while (this.byte() & 0x80) {
          // a varint of any length: BinaryReader.skip does not limit it to 10 bytes
        }
        break;
      case WireType.Bit64:
        this.pos += 8;
        break;
      case WireType.Bit32:
        this.pos += 4;
        break;
      case WireType.LengthDelimited:
        this.pos = this.delimitedEnd();
        break;
      case WireType.StartGroup:
        if (recursionLimit <= 0) throw new Error('maximum recursion depth reached');
        for (;;) {
          const inner = this.tag();
          if (wireTypeOf(inner) === WireType.EndGroup) {
            if (inner >>> 3 !== tag >>> 3) throw new Error('invalid end group tag');
            break;
          }
          this.skipValue(inner, recursionLimit - 1);
        }
        break;
      default:
        throw new Error(`cannot skip wire type ${String(wireType)}`);
    }
    if (this.pos > this.length) throw prematureEnd();
  }
}
