// The reading a metric's value makes, by its Sparkplug datatype (Sparkplug 3.0, 6.4.16): the integer
// and floating-point types, and Boolean as 0 or 1. Signed integers travel as two's complement in the
// unsigned int_value (Int8, Int16, Int32) or long_value (Int64). 64-bit integers become JavaScript
// numbers: exact up to 2^53, rounded beyond, as any reading is a double. Other datatypes (strings,
// dates, bytes, data sets, templates, arrays) are no reading.
import type { WireValue } from './payload.js';

/** Sparkplug B DataType numbers (sparkplug_b.proto). */
export const DataType = {
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
} as const;

const TWO_32 = 4_294_967_296;

/** Whether metrics of this datatype become readings. */
export const isReadingType = (datatype: number): boolean => datatype >= DataType.Int8 && datatype <= DataType.Boolean;

/** The reading of a value of `datatype`, or undefined when the value does not carry one (wrong oneof case). */
export function readingValue(datatype: number, value: WireValue): number | undefined {
  switch (datatype) {
    case DataType.Int8:
      return value.case === 'int' ? (value.value << 24) >> 24 : undefined;
    case DataType.Int16:
      return value.case === 'int' ? (value.value << 16) >> 16 : undefined;
    case DataType.Int32:
      return value.case === 'int' ? value.value | 0 : undefined;
    case DataType.UInt8:
    case DataType.UInt16:
    case DataType.UInt32:
      // Some encoders send an unsigned 32-bit value as a long_value.
      if (value.case === 'int') return value.value >>> 0;
      return value.case === 'long' ? value.hi * TWO_32 + value.lo : undefined;
    case DataType.Int64:
      return value.case === 'long' ? (value.hi | 0) * TWO_32 + value.lo : undefined;
    case DataType.UInt64:
      return value.case === 'long' ? value.hi * TWO_32 + value.lo : undefined;
    case DataType.Float:
    case DataType.Double:
      return value.case === 'float' || value.case === 'double' ? value.value : undefined;
    case DataType.Boolean:
      return value.case === 'boolean' ? Number(value.value) : undefined;
    default:
      return undefined;
  }
}
