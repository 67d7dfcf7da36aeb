// Hand-written binary codec for pdm.v1.MachineWindow (and its SensorStats): the gateway encodes one per
// machine per window and the cloud decodes every one, and @bufbuild/protobuf's reflection-based
// toBinary/fromBinary cost ~10× more. The contract (proven by machine-window-codec.test.ts): the bytes are
// toBinary's, and a decode is fromBinary's with readUnknownFields: false — or throws where it throws.
import type { DescMessage, Message } from '@bufbuild/protobuf';
import { WireType } from '@bufbuild/protobuf/wire';
import { CloseReason, MachineWindowSchema, SensorStatsSchema } from '../gen/pdm/v1/features_pb.js';
import type { MachineWindow, SensorStats } from '../gen/pdm/v1/features_pb.js';
import { DoubleField, EnumField, Int64Field, StringField, Uint32Field } from './implicit-fields.js';
import { WireReader } from './wire-reader.js';
import { MeasuredSizes, WireWriter, lengthDelimitedSize, tagOf, unknownFieldsSize, varintSize } from './wire-writer.js';

const WINDOW = MachineWindowSchema.field;
const GATEWAY_ID = new StringField(WINDOW.gatewayId);
const SITE_ID = new StringField(WINDOW.siteId);
const MACHINE_ID = new StringField(WINDOW.machineId);
const WINDOW_START = new Int64Field(WINDOW.windowStart);
const WINDOW_END = new Int64Field(WINDOW.windowEnd);
const FEATURE_VERSION = new Uint32Field(WINDOW.featureVersion);
const SENSORS_TAG = tagOf(WINDOW.sensors.number, WireType.LengthDelimited);
const REVISION = new Uint32Field(WINDOW.revision);
const CLOSE_REASON = new EnumField(WINDOW.closeReason);
const CLOSED_AT = new Int64Field(WINDOW.closedAt);

const STATS = SensorStatsSchema.field;
const SENSOR_ID = new StringField(STATS.sensorId);
const COUNT = new Uint32Field(STATS.count);
const EXPECTED_COUNT = new Uint32Field(STATS.expectedCount);
const MEAN = new DoubleField(STATS.mean);
const VARIANCE = new DoubleField(STATS.variance);
const STD = new DoubleField(STATS.std);
const MIN = new DoubleField(STATS.min);
const MAX = new DoubleField(STATS.max);
const RMS = new DoubleField(STATS.rms);
const PEAK_TO_PEAK = new DoubleField(STATS.peakToPeak);
const SKEWNESS = new DoubleField(STATS.skewness);
const KURTOSIS = new DoubleField(STATS.kurtosis);
const CREST_FACTOR = new DoubleField(STATS.crestFactor);
const LATE_COUNT = new Uint32Field(STATS.lateCount);

/**
 * toBinary(MachineWindowSchema, window), byte for byte. Throws where toBinary throws, and also on values
 * of a JavaScript type the generated types exclude (a string in a uint32 field), which toBinary coerces.
 * The bytes are never overwritten, but may be a view into a shared buffer: use their byteOffset and
 * byteLength, not `.buffer` alone.
 */
export function encodeMachineWindow(window: MachineWindow): Uint8Array {
  // The first pass measures every SensorStats once; the second writes their lengths from these sizes.
  const sizes = new MeasuredSizes();
  const writer = new WireWriter(machineWindowSize(window, sizes));
  writeMachineWindow(writer, window, sizes);
  return writer.finish();
}

/** fromBinary(MachineWindowSchema, bytes, { readUnknownFields: false }); throws where it throws. */
export function decodeMachineWindow(bytes: Uint8Array): MachineWindow {
  const reader = new WireReader(bytes);
  return readMachineWindow(reader, reader.length, 1);
}

// The pieces below are also the windows of feature-batch-codec.ts, which nests them in a FeatureBatch.

/** Throws as toBinary does when `message` is not of type `schema`. */
export function checkMessageType(message: Message, schema: DescMessage): void {
  if (message.$typeName !== schema.typeName) {
    throw new Error(`cannot encode ${schema.toString()} to binary: got a ${String(message.$typeName)}`);
  }
}

/** The encoded size of `window`; records the size of each of its SensorStats in `sizes`. */
export function machineWindowSize(window: MachineWindow, sizes: MeasuredSizes): number {
  checkMessageType(window, MachineWindowSchema);
  let size =
    GATEWAY_ID.size(window.gatewayId) +
    SITE_ID.size(window.siteId) +
    MACHINE_ID.size(window.machineId) +
    WINDOW_START.size(window.windowStart) +
    WINDOW_END.size(window.windowEnd) +
    FEATURE_VERSION.size(window.featureVersion) +
    REVISION.size(window.revision) +
    CLOSE_REASON.size(window.closeReason) +
    CLOSED_AT.size(window.closedAt) +
    unknownFieldsSize(window.$unknown);
  for (const stats of window.sensors) {
    const statsSize = sensorStatsSize(stats);
    sizes.push(statsSize);
    size += varintSize(SENSORS_TAG) + lengthDelimitedSize(statsSize);
  }
  return size;
}

function sensorStatsSize(stats: SensorStats): number {
  checkMessageType(stats, SensorStatsSchema);
  return (
    SENSOR_ID.size(stats.sensorId) +
    COUNT.size(stats.count) +
    EXPECTED_COUNT.size(stats.expectedCount) +
    MEAN.size(stats.mean) +
    VARIANCE.size(stats.variance) +
    STD.size(stats.std) +
    MIN.size(stats.min) +
    MAX.size(stats.max) +
    RMS.size(stats.rms) +
    PEAK_TO_PEAK.size(stats.peakToPeak) +
    SKEWNESS.size(stats.skewness) +
    KURTOSIS.size(stats.kurtosis) +
    CREST_FACTOR.size(stats.crestFactor) +
    LATE_COUNT.size(stats.lateCount) +
    unknownFieldsSize(stats.$unknown)
  );
}

/** Writes `window` measured by machineWindowSize: fields in field-number order, unknown fields last (toBinary's order). */
export function writeMachineWindow(writer: WireWriter, window: MachineWindow, sizes: MeasuredSizes): void {
  GATEWAY_ID.write(writer, window.gatewayId);
  SITE_ID.write(writer, window.siteId);
  MACHINE_ID.write(writer, window.machineId);
  WINDOW_START.write(writer, window.windowStart);
  WINDOW_END.write(writer, window.windowEnd);
  FEATURE_VERSION.write(writer, window.featureVersion);
  for (const stats of window.sensors) {
    writer.uint32(SENSORS_TAG);
    writer.uint32(sizes.next());
    writeSensorStats(writer, stats);
  }
  REVISION.write(writer, window.revision);
  CLOSE_REASON.write(writer, window.closeReason);
  CLOSED_AT.write(writer, window.closedAt);
  writer.unknownFields(window.$unknown);
}

function writeSensorStats(writer: WireWriter, stats: SensorStats): void {
  SENSOR_ID.write(writer, stats.sensorId);
  COUNT.write(writer, stats.count);
  EXPECTED_COUNT.write(writer, stats.expectedCount);
  MEAN.write(writer, stats.mean);
  VARIANCE.write(writer, stats.variance);
  STD.write(writer, stats.std);
  MIN.write(writer, stats.min);
  MAX.write(writer, stats.max);
  RMS.write(writer, stats.rms);
  PEAK_TO_PEAK.write(writer, stats.peakToPeak);
  SKEWNESS.write(writer, stats.skewness);
  KURTOSIS.write(writer, stats.kurtosis);
  CREST_FACTOR.write(writer, stats.crestFactor);
  LATE_COUNT.write(writer, stats.lateCount);
  writer.unknownFields(stats.$unknown);
}

// Decoding follows fromBinary, not the wire-type rules of the spec: a known field number is read as its
// declared type whatever wire type its tag says, the last occurrence of a scalar wins, and `sensors`
// appends one message per occurrence. Objects are built as create() builds them (same keys, same order).
// The case labels are the field numbers of features.proto.

/**
 * Reads a MachineWindow that ends at `end`, nested `depth` deep (1 at the top level): the depth is the
 * recursion budget fromBinary spends on skipping unknown groups.
 */
export function readMachineWindow(reader: WireReader, end: number, depth: number): MachineWindow {
  const window: MachineWindow = {
    $typeName: 'pdm.v1.MachineWindow',
    gatewayId: '',
    siteId: '',
    machineId: '',
    windowStart: 0n,
    windowEnd: 0n,
    featureVersion: 0,
    sensors: [],
    revision: 0,
    closeReason: CloseReason.UNSPECIFIED,
    closedAt: 0n,
  };
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag >>> 3) {
      case 1:
        window.gatewayId = reader.string();
        break;
      case 2:
        window.siteId = reader.string();
        break;
      case 3:
        window.machineId = reader.string();
        break;
      case 4:
        window.windowStart = reader.int64();
        break;
      case 5:
        window.windowEnd = reader.int64();
        break;
      case 6:
        window.featureVersion = reader.uint32();
        break;
      case 7:
        window.sensors.push(readSensorStats(reader, reader.delimitedEnd(), depth + 1));
        break;
      case 8:
        window.revision = reader.uint32();
        break;
      case 9:
        window.closeReason = reader.int32();
        break;
      case 10:
        window.closedAt = reader.int64();
        break;
      default:
        reader.skip(tag, depth);
    }
  }
  return window;
}

function readSensorStats(reader: WireReader, end: number, depth: number): SensorStats {
  const stats: SensorStats = {
    $typeName: 'pdm.v1.SensorStats',
    sensorId: '',
    count: 0,
    expectedCount: 0,
    mean: 0,
    variance: 0,
    std: 0,
    min: 0,
    max: 0,
    rms: 0,
    peakToPeak: 0,
    skewness: 0,
    kurtosis: 0,
    crestFactor: 0,
    lateCount: 0,
  };
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag >>> 3) {
      case 1:
        stats.sensorId = reader.string();
        break;
      case 2:
        stats.count = reader.uint32();
        break;
      case 3:
        stats.expectedCount = reader.uint32();
        break;
      case 4:
        stats.mean = reader.double();
        break;
      case 5:
        stats.variance = reader.double();
        break;
      case 6:
        stats.std = reader.double();
        break;
      case 7:
        stats.min = reader.double();
        break;
      case 8:
        stats.max = reader.double();
        break;
      case 9:
        stats.rms = reader.double();
        break;
      case 10:
        stats.peakToPeak = reader.double();
        break;
      case 11:
        stats.skewness = reader.double();
        break;
      case 12:
        stats.kurtosis = reader.double();
        break;
      case 13:
        stats.crestFactor = reader.double();
        break;
      case 14:
        stats.lateCount = reader.uint32();
        break;
      default:
        reader.skip(tag, depth);
    }
  }
  return stats;
}
