// Turns a Pub/Sub message into a Nest event packet: the `schema` attribute is the pattern (so handlers
// are `@EventPattern('pdm.v1.MachineWindow')`) and the body is decoded with that schema. A message
// whose schema is missing or unknown, or whose bytes do not decode, throws UndecodableMessageError:
// retrying cannot help, so the server dead-letters it.
import type { DescMessage } from '@bufbuild/protobuf';
import { PUBSUB_ATTRIBUTES, fromBinary } from '@pdm/proto';
import type { IncomingEvent } from '@nestjs/microservices';
import type { ConsumerDeserializer } from '@nestjs/microservices';
import { UndecodableMessageError } from './undecodable.js';

export interface RawPubSubMessage {
  data: Uint8Array;
  attributes: Record<string, string>;
}

export class ProtobufDeserializer implements ConsumerDeserializer {
  private readonly schemas = new Map<string, DescMessage>();

  constructor(schemas: DescMessage[]) {
    for (const schema of schemas) this.schemas.set(schema.typeName, schema);
  }

  deserialize(message: RawPubSubMessage): IncomingEvent {
    const pattern = message.attributes[PUBSUB_ATTRIBUTES.schema];
    if (!pattern) throw new UndecodableMessageError('missing_schema', `message has no "${PUBSUB_ATTRIBUTES.schema}" attribute`);
    const schema = this.schemas.get(pattern);
    if (!schema) {
      throw new UndecodableMessageError('unknown_schema', `schema "${pattern}" is not one of: ${[...this.schemas.keys()].join(', ')}`);
    }
    try {
      return { pattern, data: fromBinary(schema, message.data) };
    } catch (error) {
      throw new UndecodableMessageError('undecodable', `body is not a valid ${pattern}: ${(error as Error).message}`);
    }
  }
}
