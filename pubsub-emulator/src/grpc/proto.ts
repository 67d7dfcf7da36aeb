// Loads google.pubsub.v1 from the descriptors that ship inside @google-cloud/pubsub, so the emulator speaks
// exactly the API version of the client it is tested with.
import { createRequire } from 'node:module';
import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

// The representation our handlers see: camelCase fields (what the client sends as JSON-like objects),
// int64 as JS numbers (timestamps and sizes fit), enums as names, defaults filled in so absent is "".
export const PROTO_LOADER_OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true } as const;

export interface PubSubServices {
  publisher: ServiceDefinition;
  subscriber: ServiceDefinition;
}

let cached: PubSubServices | undefined;

export function loadPubSubServices(): PubSubServices {
  if (cached) return cached;
  const json = require('@google-cloud/pubsub/build/protos/protos.json') as Record<string, unknown>;
  const definition = fromJSON(json, PROTO_LOADER_OPTIONS);
  const root = loadPackageDefinition(definition) as unknown as {
    google: { pubsub: { v1: Record<'Publisher' | 'Subscriber', { service: ServiceDefinition }> } };
  };
  cached = { publisher: root.google.pubsub.v1.Publisher.service, subscriber: root.google.pubsub.v1.Subscriber.service };
  return cached;
}
