// Google Cloud settings both services share: whether Pub/Sub is an emulator, and the Google credentials
// they resolve once at start. Resolving them there (not on the first publish, inside the client
// library) makes a missing or broken credential a start-up error that says what to set, and leaves
// nothing for the library to look up later: a credential that fails at run time fails a request,
// which the service counts and retries, instead of an unhandled rejection that ends the process.
import { ConfigError } from './load.js';

/** Whether Pub/Sub clients talk to an emulator (then there are no Google credentials to look for). */
export function usesPubSubEmulator(emulatorHost: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(emulatorHost || env.PUBSUB_EMULATOR_HOST);
}

/**
 * The part of google-auth-library's `GoogleAuth` used here (a generated Pub/Sub client's `auth`, set
 * up with Pub/Sub's scopes and endpoint). It finds Application Default Credentials in this order:
 * GOOGLE_APPLICATION_CREDENTIALS, gcloud's application_default_credentials.json (in CLOUDSDK_CONFIG
 * or ~/.config/gcloud), then the metadata server of Google Cloud.
 */
export interface GoogleCredentialSource<Client> {
  getClient(): Promise<Client>;
}

const EMULATOR_HINT = 'to use a Pub/Sub emulator instead, set pubsub.emulatorHost or PUBSUB_EMULATOR_HOST';

/**
 * Resolves the Google credentials for Pub/Sub now and returns the client to hand to every `PubSub`
 * (option `authClient`); throws a ConfigError that says what to set when there are none or they
 * cannot be read. Only finds and parses them: no token is fetched, so a service starts during an
 * outage of the link.
 */
export async function resolvePubSubCredentials<Client>(auth: GoogleCredentialSource<Client>, env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  try {
    return await auth.getClient();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const file = env.GOOGLE_APPLICATION_CREDENTIALS;
    throw new ConfigError(
      file
        ? `Google credentials: GOOGLE_APPLICATION_CREDENTIALS names ${file}, which cannot be used (${detail}). ` +
            `Set GOOGLE_APPLICATION_CREDENTIALS to a readable service-account key file (JSON), or unset it to use Application Default Credentials; ${EMULATOR_HINT}`
        : `Google credentials: none found (${detail}). Set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file (JSON), ` +
            `run \`gcloud auth application-default login\`, or run on Google Cloud with a service account attached; ${EMULATOR_HINT}`,
    );
  }
}
