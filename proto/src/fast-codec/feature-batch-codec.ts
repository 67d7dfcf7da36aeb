// Hand-written binary codec for pdm.v1.FeatureBatch: the windows a gateway closed in one tick, which
// the gateway encodes at every window boundary and every processor decodes. Its windows are encoded and
// decoded by machine-window-codec.ts, so a batch's window has exactly the bytes and the result of a
// window sent alone. The contract (proven by feature-batch-codec.test.ts) is the one of that codec: the
// bytes are toBinary's, and a decode is fromBinary's with readUnknownFields: false — or throws where it
// throws.
import { WireType } from '@bufbuild/protobuf/wire';
import { FeatureBatchSchema } from '../gen/pdm/v1/features_pb.js';
import type { FeatureBatch } from '../gen/pdm/v1/features_pb.js';
import { StringField, Uint32Field } from './implicit-fields.js';
import { checkMessageType, machineWindowSize, readMachineWindow, writeMachineWindow } from './machine-window-codec.js';
import { WireReader } from './wire-reader.js';
import { MeasuredSizes, WireWriter, lengthDelimitedSize, tagOf, unknownFieldsSize, varintSize } from './wire-writer.js';

const BATCH = FeatureBatchSchema.field;
const GATEWAY_ID = new StringField(BATCH.gatewayId);
const SITE_ID = new StringField(BATCH.siteId);
const SHARD = new Uint32Field(BATCH.shard);
const WINDOWS_TAG = tagOf(BATCH.windows.number, WireType.LengthDelimited);

// How deep the batch and its windows nest, for the recursion budget of skipping unknown groups.
const BATCH_DEPTH = 1;
const WINDOW_DEPTH = 2;

/** A window of decodeFeatureBatch: read where it lies in the batch, as fromBinary reads a nested message. */
const readWindowInPlace = (reader: WireReader) => readMachineWindow(reader, reader.delimitedEnd(), WINDOW_DEPTH);

/**
 * toBinary(FeatureBatchSchema, batch), byte for byte; throws where toBinary throws, and on values of a
 * JavaScript type the generated types exclude (as encodeMachineWindow). The bytes may be a view into a
 * shared buffer: use their byteOffset and byteLength, not `.buffer` alone.
 */
export function encodeFeatureBatch(batch: FeatureBatch): Uint8Array {
  // The first pass measures each window (and its SensorStats) once; the second writes their lengths.
  const sizes = new MeasuredSizes();
  const writer = new WireWriter(featureBatchSize(batch, sizes));
  writeFeatureBatch(writer, batch, sizes);
  return writer.finish();
}

/** What a FeatureBatch says besides its windows. */
export type FeatureBatchHeader = Pick<FeatureBatch, 'gatewayId' | 'siteId' | 'shard'>;

/** The bytes of a FeatureBatch of `header` before its windows: a batch's size is this plus featureBatchWindowSize of each window. */
export function featureBatchHeaderSize(header: FeatureBatchHeader): number {
  return GATEWAY_ID.size(header.gatewayId) + SITE_ID.size(header.siteId) + SHARD.size(header.shard);
}

/** The bytes a window encoded in `windowBytes` adds to a FeatureBatch: itself, its field's tag and its length. */
export function featureBatchWindowSize(windowBytes: number): number {
  return varintSize(WINDOWS_TAG) + lengthDelimitedSize(windowBytes);
}

/**
 * The FeatureBatch of `header` and of windows already encoded (e.g. a gateway's outbox rows), without
 * decoding them: encodeFeatureBatch's bytes for those windows when each is a window's encoding.
 */
export function encodeFeatureBatchOf(header: FeatureBatchHeader, encodedWindows: readonly Uint8Array[]): Uint8Array {
  let size = featureBatchHeaderSize(header);
  for (const window of encodedWindows) size += featureBatchWindowSize(window.byteLength);
  const writer = new WireWriter(size);
  GATEWAY_ID.write(writer, header.gatewayId);
  SITE_ID.write(writer, header.siteId);
  SHARD.write(writer, header.shard);
  for (const window of encodedWindows) {
    writer.uint32(WINDOWS_TAG);
    writer.uint32(window.byteLength);
    writer.raw(window);
  }
  return writer.finish();
}

/** fromBinary(FeatureBatchSchema, bytes, { readUnknownFields: false }); throws where it throws. */
export function decodeFeatureBatch(bytes: Uint8Array): FeatureBatch {
  const batch: FeatureBatch = { $typeName: 'pdm.v1.FeatureBatch', gatewayId: '', siteId: '', shard: 0, windows: [] };
  readFeatureBatch(new WireReader(bytes), batch, readWindowInPlace);
  return batch;
}

/** A FeatureBatch read down to its windows, which are left undecoded. */
export interface FeatureBatchFrames extends FeatureBatchHeader {
  /** Each window's bytes in batch order, a pdm.v1.MachineWindow encoding: views into the bytes read, not copies. */
  windows: Uint8Array[];
}

/** Thrown by readFeatureBatchFrames for a batch of more windows than it was allowed to read. */
export class TooManyWindowsError extends Error {
  constructor(readonly limit: number) {
    super(`a FeatureBatch of more than ${limit} windows`);
    this.name = 'TooManyWindowsError';
  }
}

/**
 * The FeatureBatch in `bytes` with each window's bytes as its batch frames them, for a reader that
 * decodes every window on its own (decodeMachineWindow), so that one window that does not decode is
 * not the whole batch's failure. Throws where decodeFeatureBatch throws on the batch's own fields, or
 * when a window's length runs past the input; and TooManyWindowsError on meeting window
 * `maxWindows + 1`, before reading further.
 *
 * A window decoded alone is the window decodeFeatureBatch gives, but for two edge cases: a window whose
 * last field runs past its length does not decode alone (decodeFeatureBatch, as fromBinary, reads on
 * into what follows it); and alone, a window is one level less deep, so it may nest one more level of
 * unknown groups (WINDOW_DEPTH is 2, alone 1).
 */
export function readFeatureBatchFrames(bytes: Uint8Array, maxWindows: number): FeatureBatchFrames {
  const frames: FeatureBatchFrames = { gatewayId: '', siteId: '', shard: 0, windows: [] };
  readFeatureBatch(new WireReader(bytes), frames, (reader) => {
    if (frames.windows.length === maxWindows) throw new TooManyWindowsError(maxWindows);
    return reader.delimited();
  });
  return frames;
}

/** Reads a whole FeatureBatch into `batch`; each window is what `readWindow` makes of the value of a `windows` field. */
function readFeatureBatch<W>(reader: WireReader, batch: FeatureBatchHeader & { windows: W[] }, readWindow: (reader: WireReader) => W): void {
  // The case labels are the field numbers of features.proto.
  while (reader.pos < reader.length) {
    const tag = reader.tag();
    switch (tag >>> 3) {
      case 1:
        batch.gatewayId = reader.string();
        break;
      case 2:
        batch.siteId = reader.string();
        break;
      case 3:
        batch.shard = reader.uint32();
        break;
      case 4:
        batch.windows.push(readWindow(reader));
        break;
      default:
        reader.skip(tag, BATCH_DEPTH);
    }
  }
}

function featureBatchSize(batch: FeatureBatch, sizes: MeasuredSizes): number {
  checkMessageType(batch, FeatureBatchSchema);
  let size = GATEWAY_ID.size(batch.gatewayId) + SITE_ID.size(batch.siteId) + SHARD.size(batch.shard) + unknownFieldsSize(batch.$unknown);
  for (const window of batch.windows) {
    const place = sizes.reserve();
    const windowSize = machineWindowSize(window, sizes);
    sizes.set(place, windowSize);
    size += varintSize(WINDOWS_TAG) + lengthDelimitedSize(windowSize);
  }
  return size;
}

// Fields in field-number order, unknown fields last: toBinary's order.
function writeFeatureBatch(writer: WireWriter, batch: FeatureBatch, sizes: MeasuredSizes): void {
  GATEWAY_ID.write(writer, batch.gatewayId);
  SITE_ID.write(writer, batch.siteId);
  SHARD.write(writer, batch.shard);
  for (const window of batch.windows) {
    writer.uint32(WINDOWS_TAG);
    writer.uint32(sizes.next());
    writeMachineWindow(writer, window, sizes);
  }
  writer.unknownFields(batch.$unknown);
}
