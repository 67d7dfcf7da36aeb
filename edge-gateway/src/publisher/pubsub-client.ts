// The one place a Pub/Sub client is built, for the gateway and for the CLI commands that publish.
import { PubSub } from '@google-cloud/pubsub';

export interface PubSubClientOptions {
  projectId: string;
  /** host:port of a Pub/Sub emulator; unset: Google, with application default credentials. */
  emulatorHost?: string;
}

/**
 * A Pub/Sub client for Google Cloud or, given `emulatorHost`, for an emulator (plain gRPC, no
 * credentials). Without `emulatorHost` the client still honours PUBSUB_EMULATOR_HOST.
 */
export function createPubSubClient({ projectId, emulatorHost }: PubSubClientOptions): PubSub {
  return new PubSub(emulatorHost ? { projectId, apiEndpoint: emulatorHost, emulatorMode: true } : { projectId });
}

/**
 * Whether a client built from these options talks to an emulator: then there are no Google
 * credentials to look for, and a command may tell Google's auth library not to probe the GCE
 * metadata server for them (METADATA_SERVER_DETECTION=none, set by the process's entry point).
 */
export function usesPubSubEmulator(emulatorHost: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(emulatorHost || env.PUBSUB_EMULATOR_HOST);
}
