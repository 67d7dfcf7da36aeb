// Protobuf binary-format primitives for the hand-written encoders: byte sizes, and a writer over a region
// of exactly the message's size. The encoders measure a message first, then fill the region, so encoding
// allocates nothing per field — unlike @bufbuild/protobuf's BinaryWriter, which builds a number array
// and a Uint8Array + DataView per double.
import type { UnknownField } from '@bufbuild/protobuf';

/** Bytes of `value` (a valid uint32) as a varint. */
export function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x20_0000 ? 3 : value < 0x1000_0000 ? 4 : 5;
}

/** Bytes of an int32 varint: negative values are sign-extended to 64 bits, so always 10 bytes. */
export function int32Size(value: number): number {
  return value < 0 ? 10 : varintSize(value);
}

// 2^7, 2^14, … 2^63: a non-negative int64 below INT64_VARINT_LIMITS[i] takes i + 1 varint bytes.
const INT64_VARINT_LIMITS = Array.from({ length: 9 }, (_, i) => 1n << BigInt(7 * (i + 1)));

/** Bytes of an int64 varint (the 64-bit two's complement of `value`): 10 for every negative value. */
export function int64Size(value: bigint): number {
  if (value < 0n) return 10;
  for (let i = 0; i < INT64_VARINT_LIMITS.length; i++) {
    if (value < (INT64_VARINT_LIMITS[i] as bigint)) return i + 1;
  }
  return 10;
}

/**
 * UTF-8 length of `value` as TextEncoder (which toBinary uses) encodes it: a lone surrogate becomes
 * U+FFFD, three bytes.
 */
export function utf8Length(value: string): number {
  let bytes = value.length;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if ((c & 0xfc00) === 0xd800 && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: two UTF-16 units, four bytes
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** Bytes of a length prefix plus `byteLength` bytes of payload. */
export function lengthDelimitedSize(byteLength: number): number {
  return varintSize(byteLength) + byteLength;
}

export function tagOf(fieldNo: number, wireType: number): number {
  return ((fieldNo << 3) | wireType) >>> 0;
}

/** Bytes the unknown fields of a message take: toBinary writes them back after the known fields. */
export function unknownFieldsSize(fields: readonly UnknownField[] | undefined): number {
  if (fields === undefined) return 0;
  let size = 0;
  for (const field of fields) size += varintSize(tagOf(field.no, field.wireType)) + field.data.byteLength;
  return size;
}

/**
 * The sizes of a message's nested messages, measured by the first pass of an encoder in the order its
 * second pass writes their length prefixes. A message whose size is known only once what is inside it
 * is measured reserves its place first, so the order holds at every depth.
 */
export class MeasuredSizes {
  private readonly sizes: number[] = [];
  private read = 0;

  /** Records the size of the next nested message. */
  push(size: number): void {
    this.sizes.push(size);
  }

  /** Keeps the place of a size known later (see set). */
  reserve(): number {
    return this.sizes.push(0) - 1;
  }

  set(place: number, size: number): void {
    this.sizes[place] = size;
  }

  /** The next size in writing order. */
  next(): number {
    return this.sizes[this.read++] as number;
  }
}

const textEncoder = new TextEncoder();
// Splits an int64 into its two 32-bit halves without allocating.
const int64Halves = new DataView(new ArrayBuffer(8));

// Messages are carved out of shared slabs, as Node's Buffer pool does: allocating an ArrayBuffer per
// message costs about as much as encoding a whole MachineWindow (~2 µs). A slab region is handed out
// once and never written again, so returned bytes stay valid; they are a view (byteOffset may be > 0)
// that keeps its 16 KiB slab alive. Larger messages get a buffer of their own.
const SLAB_SIZE = 16 * 1024;
const LARGEST_SLABBED = SLAB_SIZE / 8;
let slab = new Uint8Array(SLAB_SIZE);
let slabView = new DataView(slab.buffer);
let slabUsed = 0;

export class WireWriter {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly start: number;
  private readonly end: number;
  private pos: number;

  /** A writer for a message of exactly `size` bytes. */
  constructor(size: number) {
    if (size > LARGEST_SLABBED) {
      this.bytes = new Uint8Array(size);
      this.view = new DataView(this.bytes.buffer);
      this.start = 0;
    } else {
      if (slabUsed + size > SLAB_SIZE) {
        slab = new Uint8Array(SLAB_SIZE);
        slabView = new DataView(slab.buffer);
        slabUsed = 0;
      }
      this.bytes = slab;
      this.view = slabView;
      this.start = slabUsed;
      slabUsed += size;
    }
    this.pos = this.start;
    this.end = this.start + size;
  }

  /** The encoded message; throws if the measured size and the bytes written disagree (a codec bug). */
  finish(): Uint8Array {
    if (this.pos !== this.end) {
      throw new Error(`fast codec wrote ${this.pos - this.start} bytes into a message measured at ${this.end - this.start}`);
    }
    return this.bytes.subarray(this.start, this.end);
  }

  tag(fieldNo: number, wireType: number): void {
    this.uint32(tagOf(fieldNo, wireType));
  }

  uint32(value: number): void {
    const bytes = this.bytes;
    let pos = this.pos;
    while (value > 0x7f) {
      bytes[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    bytes[pos++] = value;
    this.pos = pos;
  }

  int32(value: number): void {
    if (value >= 0) {
      this.uint32(value);
      return;
    }
    // Sign-extended to 64 bits: nine 7-bit groups of the arithmetic shift, then the top bit.
    const bytes = this.bytes;
    for (let i = 0; i < 9; i++) {
      bytes[this.pos++] = (value & 0x7f) | 0x80;
      value >>= 7;
    }
    bytes[this.pos++] = 1;
  }

  int64(value: bigint): void {
    int64Halves.setBigInt64(0, value, true);
    let lo = int64Halves.getUint32(0, true);
    let hi = int64Halves.getUint32(4, true);
    const bytes = this.bytes;
    while (hi !== 0 || lo > 0x7f) {
      bytes[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    bytes[this.pos++] = lo;
  }

  double(value: number): void {
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /** Length prefix and UTF-8 bytes, as TextEncoder (which toBinary uses) encodes them. */
  string(value: string): void {
    const bytes = this.bytes;
    const length = value.length;
    if (length < 0x80) {
      // Optimistically ASCII: one byte per UTF-16 unit after a one-byte length. The message was measured
      // with the real UTF-8 length, which is no shorter, so a failed attempt stays within the string.
      const start = this.pos + 1;
      let i = 0;
      for (; i < length; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[start + i] = c;
      }
      if (i === length) {
        bytes[this.pos] = length;
        this.pos = start + length;
        return;
      }
    }
    const byteLength = utf8Length(value);
    this.uint32(byteLength);
    textEncoder.encodeInto(value, bytes.subarray(this.pos, this.pos + byteLength));
    this.pos += byteLength;
  }

  /** Bytes already encoded, as they are. */
  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }

  unknownFields(fields: readonly UnknownField[] | undefined): void {
    if (fields === undefined) return;
    for (const field of fields) {
      this.tag(field.no, field.wireType);
      this.bytes.set(field.data, this.pos);
      this.pos += field.data.byteLength;
    }
  }
}
