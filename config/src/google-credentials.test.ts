import { describe, expect, it } from 'vitest';
import { ConfigError, resolvePubSubCredentials, usesPubSubEmulator } from './index.js';

const failing = (message: string) => ({ getClient: () => Promise.reject(new Error(message)) });

describe('Google credentials for Pub/Sub', () => {
  it('uses an emulator when one is configured or PUBSUB_EMULATOR_HOST is set', () => {
    expect(usesPubSubEmulator('127.0.0.1:8085', {})).toBe(true);
    expect(usesPubSubEmulator(undefined, { PUBSUB_EMULATOR_HOST: '127.0.0.1:8085' })).toBe(true);
    expect(usesPubSubEmulator(undefined, {})).toBe(false);
  });

  it('returns the client the credentials resolve to', async () => {
    const client = { email: 'gateway@example.iam.gserviceaccount.com' };
    await expect(resolvePubSubCredentials({ getClient: () => Promise.resolve(client) }, {})).resolves.toBe(client);
  });

  it('names GOOGLE_APPLICATION_CREDENTIALS and what to set when its file cannot be used', async () => {
    const attempt = resolvePubSubCredentials(failing('The file at /keys/gw.json does not exist'), { GOOGLE_APPLICATION_CREDENTIALS: '/keys/gw.json' });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(
      'Google credentials: GOOGLE_APPLICATION_CREDENTIALS names /keys/gw.json, which cannot be used (The file at /keys/gw.json does not exist). ' +
        'Set GOOGLE_APPLICATION_CREDENTIALS to a readable service-account key file (JSON), or unset it to use Application Default Credentials; ' +
        'to use a Pub/Sub emulator instead, set pubsub.emulatorHost or PUBSUB_EMULATOR_HOST',
    );
  });

  it('says how to provide Application Default Credentials when there are none', async () => {
    const attempt = resolvePubSubCredentials(failing('Could not load the default credentials.'), {});
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(/^Google credentials: none found \(Could not load the default credentials\.\)\. Set GOOGLE_APPLICATION_CREDENTIALS .*gcloud auth application-default login/);
  });
});
