// The one place a Pub/Sub client is built, for the gateway and for the CLI commands that publish.
import { PubSub, v1 } from '@google-cloud/pubsub';
import { resolvePubSubCredentials, usesPubSubEmulator } from '@pdm/config';

export { usesPubSubEmulator };

export interface PubSubClientOptions {
  projectId: string;
  /** host:port of a Pub/Sub emulator; unset: Google, with application default credentials. */
  emulatorHost?: string;
}

/**
 * A Pub/Sub client for Google Cloud or, given `emulatorHost`, for an emulator (plain gRPC, no
 * credentials). Without `emulatorHost` the client still honours PUBSUB_EMULATOR_HOST.
 */
function createPubSubClient({ projectId, emulatorHost }: PubSubClientOptions): PubSub {
  return new PubSub(emulatorHost ? { projectId, apiEndpoint: emulatorHost, emulatorMode: true } : { projectId });
}

/**
 * The Pub/Sub client for an emulator or, for Google, with the credentials resolved
 * now (a ConfigError that says what to set when there are none) and handed to the client, so no
 * request ever looks them up again. A lookup that failed inside the client library would end the
 * process (its generated clients rethrow the failure in a detached promise); a credential that
 * fails later, when a token is made or refused, fails that request, which the caller counts.
 */
export async function connectPubSub(options: PubSubClientOptions, env: NodeJS.ProcessEnv = process.env): Promise<PubSub> {
  if (usesPubSubEmulator(options.emulatorHost, env)) return createPubSubClient(options);
  // The generated publisher client's auth is set up as every request's would be (Pub/Sub's scopes, a
  // service-account key signing its own tokens); it opens no connection.
  const authClient = await resolvePubSubCredentials(new v1.PublisherClient({ projectId: options.projectId }).auth, env);
  return new PubSub({ projectId: options.projectId, authClient });
}
