// Google credentials, with no emulator configured: checked at start (exit 2 with what to set, before
// InfluxDB or Pub/Sub is contacted); once resolved, no Pub/Sub client looks them up again, so a key
// file that disappears fails requests (which the processor nacks, retries or counts) instead of
// ending the process. No network is needed: every case fails locally or on a name lookup.
import { PubSub } from '@google-cloud/pubsub';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pubsubClientConfig } from './app/start-processor.js';
import { runProcessorCli } from './cli.js';
import { loadProcessorConfig } from './config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'processor-credentials-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A service-account key file as Google issues it, but whose private key is no key at all. */
const SERVICE_ACCOUNT = {
  type: 'service_account',
  project_id: 'pdm-test',
  private_key_id: '0123456789abcdef',
  private_key: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n',
  client_email: 'processor@pdm-test.iam.gserviceaccount.com',
  client_id: '1',
};

beforeEach(() => {
  // Google, not an emulator; no gcloud credentials of this machine; no probe of a metadata server.
  vi.stubEnv('PUBSUB_EMULATOR_HOST', undefined);
  vi.stubEnv('CLOUDSDK_CONFIG', join(dir, 'no-gcloud'));
  vi.stubEnv('METADATA_SERVER_DETECTION', 'none');
});
afterEach(() => vi.unstubAllEnvs());

describe('processor credentials at start', () => {
  async function run(): Promise<{ code: number; err: string }> {
    const errors: string[] = [];
    // InfluxDB unreachable: a processor that got past the credentials would exit 1 ("could not start").
    const env = { PDM_PROCESSOR_INFLUX__URL: 'http://127.0.0.1:1', PDM_PROCESSOR_INFLUX__REQUEST_TIMEOUT_MS: '2000', PDM_PROCESSOR_LOG__LEVEL: 'silent' };
    const code = await runProcessorCli([], { env, out: () => undefined, err: (line) => errors.push(line), waitForStop: () => new Promise<NodeJS.Signals>(() => {}) });
    return { code, err: errors.join('\n') };
  }

  it('exits 2 naming GOOGLE_APPLICATION_CREDENTIALS when it names a missing file', async () => {
    const missing = join(dir, 'missing-key.json');
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', missing);
    const { code, err } = await run();
    expect(code).toBe(2);
    expect(err).toContain(`GOOGLE_APPLICATION_CREDENTIALS names ${missing}, which cannot be used`);
    expect(err).toContain('Set GOOGLE_APPLICATION_CREDENTIALS to a readable service-account key file');
  });

  it('exits 2 when the credentials file exists but is not a key', async () => {
    const invalid = join(dir, 'invalid-key.json');
    writeFileSync(invalid, '{"type": "service_account", ');
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', invalid);
    const { code, err } = await run();
    expect(code).toBe(2);
    expect(err).toContain(`GOOGLE_APPLICATION_CREDENTIALS names ${invalid}, which cannot be used`);
  });

  it('exits 2 saying what to set when there are no Application Default Credentials at all', async () => {
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', undefined);
    mkdirSync(join(dir, 'no-gcloud'), { recursive: true });
    const { code, err } = await run();
    expect(code).toBe(2);
    expect(err).toContain('Google credentials: none found');
    expect(err).toContain('gcloud auth application-default login');
  });
});

describe('processor credentials at run time', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => process.on('unhandledRejection', onUnhandled));
  afterEach(() => process.off('unhandledRejection', onUnhandled));

  it('fails a publish, and only the publish, once the key file is gone', async () => {
    const keyFile = join(dir, 'service-account.json');
    writeFileSync(keyFile, JSON.stringify(SERVICE_ACCOUNT));
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', keyFile);
    const config = loadProcessorConfig({ env: {} });
    const pubsub = new PubSub(await pubsubClientConfig(config.pubsub));
    rmSync(keyFile);
    try {
      const topic = pubsub.topic('pdm-alerts', { gaxOpts: { timeout: 1_000 } });
      await expect(topic.publishMessage({ data: Buffer.from('alert') })).rejects.toThrow();
      // Let a detached rejection, if any, surface.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled).toEqual([]);
    } finally {
      await pubsub.close();
    }
  });
});
