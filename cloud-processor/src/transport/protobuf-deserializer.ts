// Turns a Pub/Sub message into a Nest event packet: the `schema` attribute is the pattern (so handlers
// are `@EventPattern('pdm.v1.MachineWindow')`) and the body is decoded with that schema. A message
// whose schema is missing or unknown, or whose bytes do not decode, throws UndecodableMessageError:
// retrying cannot help, so the server dead-letters it.
import type { DescMessage, Message } from '@bufbuild/protobuf';
import { FeatureBatchSchema, MachineWindowSchema, PUBSUB_ATTRIBUTES, decodeFeatureBatch, decodeMachineWindow, fromBinary } from '@pdm/proto';
import type { IncomingEvent } from '@nestjs/microservices';
import type { ConsumerDeserializer } from '@nestjs/microservices';
import { UndecodableMessageError } from './poison-message.js';

export interface RawPubSubMessage {
  data: Uint8Array;
  attributes: Record<string, string>;
}

/** Hand-written decoders of @pdm/proto for the hot schemas: fromBinary's result, ~10× faster. */
const FAST_DECODERS: ReadonlyMap<string, (bytes: Uint8Array) => Message> = new Map<string, (bytes: Uint8Array) => Message>([
  [MachineWindowSchema.typeName, decodeMachineWindow],
  [FeatureBatchSchema.typeName, decodeFeatureBatch],
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
      throw new UndecodableMessageError('undecodable', `body is not a valid ${pattern}: ${(error as Error).message}`);
    }
  }
}
