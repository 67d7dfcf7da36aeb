// Turns a Pub/Sub message into a Nest event packet: the `schema` attribute is the pattern (so handlers
// are `@EventPattern('pdm.v1.MachineWindow')`) and the body is decoded with that schema. A message
// whose schema is missing or unknown, or whose bytes do not decode, throws UndecodableMessageError:
// retrying cannot help, so the server dead-letters it.
//
// A FeatureBatch is decoded window by window from its framing, so that one window that does not decode
// costs neither the batch's other windows nor itself: it is left out of the decoded batch and recorded
// (undecodableWindowsOf), and the batch handler (pipeline/feature-batch.ts) dead-letters the batch, whole,
// once its other windows are stored. Only a batch whose own framing or fields do not decode, or that
// holds more than MAX_WINDOWS_PER_BATCH windows, is undecodable here.
import type { DescMessage, Message } from '@bufbuild/protobuf';
import {
  FeatureBatchSchema,
  MachineWindowSchema,
  PUBSUB_ATTRIBUTES,
  TooManyWindowsError,
  create,
  decodeMachineWindow,
  fromBinary,
  readFeatureBatchFrames,
  type FeatureBatch,
  type FeatureBatchFrames,
} from '@pdm/proto';
import type { IncomingEvent } from '@nestjs/microservices';
import type { ConsumerDeserializer } from '@nestjs/microservices';
import { UndecodableMessageError } from './poison-message.js';

/**
 * Windows per FeatureBatch at most; a batch of more is refused whole, undecoded. A decoded window costs
 * ~150 bytes of heap however small it is on the wire (2 bytes when empty): uncapped, a 10 MB body of
 * empty windows would become 5 M objects, ~780 MB. At the cap they take ~40 MB. No gateway batch is
 * over it: live, a gateway sends at most pubsub.maxInFlight windows in one (default 1,000); `pdm replay
 * --publish` fills batches by bytes alone, up to featureBatches.maxBytes of windows, each at least 36 bytes
 * with its framing (one-character ids, one sensor whose statistics are all 0). Gateways since 949f2f8 hold
 * maxBytes to pubsub.keyMaxBytesPerSecond (at most 1,000,000 bytes: under 28,000 windows); older ones
 * allowed 8 MiB (under 235,000), which the cap still takes while such gateways run.
 */
export const MAX_WINDOWS_PER_BATCH = 250_000;

/** Undecodable windows the dead letter's detail names one by one (Pub/Sub keeps ~1 KB of it); the rest are counted. */
const NAMED_WINDOWS = 5;

/**
 * Why windows of a decoded FeatureBatch are missing from its `windows`, by the batch: Nest hands the
 * decoded batch to its handler as it is, which asks here (undecodableWindowsOf) and has the batch
 * handler throw it once the other windows are stored, which dead-letters the batch. A batch without
 * windows missing has no entry.
 */
const missingWindows = new WeakMap<FeatureBatch, UndecodableMessageError>();

/** For a batch this deserializer decoded: why some of its windows are not among `windows` (they did not decode); undefined when none is missing. */
export function undecodableWindowsOf(batch: FeatureBatch): UndecodableMessageError | undefined {
  return missingWindows.get(batch);
}

export interface RawPubSubMessage {
  data: Uint8Array;
  attributes: Record<string, string>;
}

/** Hand-written decoders of @pdm/proto for the hot schemas: fromBinary's result, ~10× faster. */
const FAST_DECODERS: ReadonlyMap<string, (bytes: Uint8Array) => Message> = new Map<string, (bytes: Uint8Array) => Message>([
  [MachineWindowSchema.typeName, decodeMachineWindow],
  [FeatureBatchSchema.typeName, decodeWindowByWindow],
]);

export class ProtobufDeserializer implements ConsumerDeserializer {
  private readonly decoders = new Map<string, (bytes: Uint8Array) => Message>();

  constructor(schemas: DescMessage[]) {
    for (const schema of schemas) this.decoders.set(schema.typeName, FAST_DECODERS.get(schema.typeName) ?? ((bytes) => fromBinary(schema, bytes)));
  }

  deserialize(message: RawPubSubMessage): IncomingEvent {
    const pattern = message.attributes[PUBSUB_ATTRIBUTES.schema];
    if (!pattern) throw new UndecodableMessageError('missing_schema', `message has no "${PUBSUB_ATTRIBUTES.schema}" attribute`);
    const decode = this.decoders.get(pattern);
    if (!decode) {
      throw new UndecodableMessageError('unknown_schema', `schema "${pattern}" is not one of: ${[...this.decoders.keys()].join(', ')}`);
    }
    try {
      return { pattern, data: decode(message.data) };
    } catch (error) {
      if (error instanceof UndecodableMessageError) throw error;
      throw new UndecodableMessageError('undecodable', `body is not a valid ${pattern}: ${(error as Error).message}`);
    }
  }
}

/** The batch with the windows that decode on their own; records the others (undecodableWindowsOf). */
function decodeWindowByWindow(bytes: Uint8Array): FeatureBatch {
  const { windows: frames, ...header } = framesOf(bytes);
  const batch = create(FeatureBatchSchema, header);
  const failures: string[] = [];
  for (const [index, frame] of frames.entries()) {
    try {
      batch.windows.push(decodeMachineWindow(frame));
    } catch (error) {
      const start = frame.byteOffset - bytes.byteOffset;
      failures.push(`windows[${index}] at body bytes [${start}, ${start + frame.byteLength}): ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) {
    const named = failures.slice(0, NAMED_WINDOWS).join('; ');
    const more = failures.length > NAMED_WINDOWS ? `; and ${failures.length - NAMED_WINDOWS} more` : '';
    const detail = `${failures.length} of ${frames.length} windows are not a valid ${MachineWindowSchema.typeName} (the batch's other windows were processed before it was dead-lettered): ${named}${more}`;
    missingWindows.set(batch, new UndecodableMessageError('undecodable', detail));
  }
  return batch;
}

function framesOf(bytes: Uint8Array): FeatureBatchFrames {
  try {
    return readFeatureBatchFrames(bytes, MAX_WINDOWS_PER_BATCH);
  } catch (error) {
    if (!(error instanceof TooManyWindowsError)) throw error;
    throw new UndecodableMessageError('undecodable', `${error.message}: refused undecoded (no gateway sends more than ${MAX_WINDOWS_PER_BATCH} in one)`);
  }
}
