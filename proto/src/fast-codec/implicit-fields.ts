// Encoding of singular proto3 fields with implicit presence: a field is written only when it differs from
// its zero value ("" / 0 / 0n; for doubles only +0, so -0 and NaN are written). One object per field,
// built once from its descriptor, holds the precomputed tag; its size() also rejects the values toBinary
// rejects (with toBinary's wording) and values of a JavaScript type the generated types exclude, and its
// write() sits beside it, so the zero-value rule cannot drift between measuring a message and writing it.
import type { DescField } from '@bufbuild/protobuf';
import { WireType } from '@bufbuild/protobuf/wire';
import { int32Size, int64Size, lengthDelimitedSize, tagOf, utf8Length, varintSize } from './wire-writer.js';
import type { WireWriter } from './wire-writer.js';

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
const UINT32_MAX = 0xffff_ffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

abstract class ImplicitField {
  protected readonly tag: number;
  protected readonly tagSize: number;

  constructor(
    private readonly desc: DescField,
    wireType: WireType,
  ) {
    this.tag = tagOf(desc.number, wireType);
    this.tagSize = varintSize(this.tag);
  }

  protected invalid(problem: string): Error {
    return new Error(`cannot encode ${this.desc.toString()} to binary: ${problem}`);
  }
}

export class StringField extends ImplicitField {
  constructor(desc: DescField) {
    super(desc, WireType.LengthDelimited);
  }

  size(value: string): number {
    if (typeof value !== 'string') throw this.invalid(`invalid string: ${typeof value}`);
    return value === '' ? 0 : this.tagSize + lengthDelimitedSize(utf8Length(value));
  }

  write(writer: WireWriter, value: string): void {
    if (value === '') return;
    writer.uint32(this.tag);
    writer.string(value);
  }
}

export class Uint32Field extends ImplicitField {
  constructor(desc: DescField) {
    super(desc, WireType.Varint);
  }

  size(value: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw this.invalid(`invalid uint32: ${String(value)}`);
    }
    return value === 0 ? 0 : this.tagSize + varintSize(value);
  }

  write(writer: WireWriter, value: number): void {
    if (value === 0) return;
    writer.uint32(this.tag);
    writer.uint32(value);
  }
}

/** Enums are int32 on the wire. */
export class EnumField extends ImplicitField {
  constructor(desc: DescField) {
    super(desc, WireType.Varint);
  }

  size(value: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw this.invalid(`invalid int32: ${String(value)}`);
    }
    return value === 0 ? 0 : this.tagSize + int32Size(value);
  }

  write(writer: WireWriter, value: number): void {
    if (value === 0) return;
    writer.uint32(this.tag);
    writer.int32(value);
  }
}

export class Int64Field extends ImplicitField {
  constructor(desc: DescField) {
    super(desc, WireType.Varint);
  }

  size(value: bigint): number {
    if (typeof value !== 'bigint') throw this.invalid(`invalid int64: ${typeof value}`);
    if (value < INT64_MIN || value > INT64_MAX) throw this.invalid(`invalid int64: ${value}`);
    return value === 0n ? 0 : this.tagSize + int64Size(value);
  }

  write(writer: WireWriter, value: bigint): void {
    if (value === 0n) return;
    writer.uint32(this.tag);
    writer.int64(value);
  }
}

export class DoubleField extends ImplicitField {
  constructor(desc: DescField) {
    super(desc, WireType.Bit64);
  }

  size(value: number): number {
    if (typeof value !== 'number') throw this.invalid(`invalid double: ${typeof value}`);
    return Object.is(value, 0) ? 0 : this.tagSize + 8;
  }

  write(writer: WireWriter, value: number): void {
    if (Object.is(value, 0)) return;
    writer.uint32(this.tag);
    writer.double(value);
  }
}
