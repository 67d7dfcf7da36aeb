// Google credentials, with no emulator configured: checked at start (exit 2 with what to set); a
// credential that fails once the gateway runs fails publishes, which are counted while the windows
// stay in the outbox, and never ends the process. No network is needed: every case fails locally
// (or on a name lookup that cannot succeed here).
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '@pdm/clock';
import { makeTestDataDir } from '@pdm/influx-harness';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runGatewayCli } from './cli.js';
import { gatewayConfigSchema, type GatewayConfigInput } from './config/index.js';
import { startGateway } from './gateway.js';
import { metricValue } from './test-support/gateway-harness.js';

const dir = makeTestDataDir('gateway-credentials');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A service-account key file as Google issues it, but whose private key is no key at all. */
const SERVICE_ACCOUNT = {
  type: 'service_account',
  project_id: 'pdm-test',
  private_key_id: '0123456789abcdef',
  private_key: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n',
  client_email: 'gateway@pdm-test.iam.gserviceaccount.com',
  client_id: '1',
};

const config = (outbox: string): GatewayConfigInput => ({
  mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true },
  http: { host: '127.0.0.1', port: 0 },
  outbox: { path: outbox },
  windows: { tickMs: 3_600_000 },
  health: { intervalMs: 0 },
  pubsub: { projectId: 'pdm-test', topic: 'features', publishTimeoutMs: 1_000, backoff: { initialMs: 10, maxMs: 50 } },
  log: { level: 'silent' },
  shutdownTimeoutMs: 1_000,
});

beforeEach(() => {
  // Google, not an emulator; no gcloud credentials of this machine; no probe of a metadata server.
  vi.stubEnv('PUBSUB_EMULATOR_HOST', undefined);
  vi.stubEnv('CLOUDSDK_CONFIG', join(dir, 'no-gcloud'));
  vi.stubEnv('METADATA_SERVER_DETECTION', 'none');
});
afterEach(() => vi.unstubAllEnvs());

describe('gateway credentials at start', () => {
  async function runCli(name: string): Promise<{ code: number; err: string; outbox: string }> {
    const outbox = join(dir, name, 'outbox.sqlite');
    const configFile = join(dir, `${name}.json`);
    writeFileSync(configFile, JSON.stringify(config(outbox)));
    const err: string[] = [];
    const code = await runGatewayCli(['--config', configFile], {
      out: () => undefined,
      err: (line) => err.push(line),
      waitForStop: () => Promise.resolve('SIGTERM'),
    });
    return { code, err: err.join('\n'), outbox };
  }

  it('exits 2 naming GOOGLE_APPLICATION_CREDENTIALS when it names a missing file, before opening anything', async () => {
    const missing = join(dir, 'missing-key.json');
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', missing);
    const { code, err, outbox } = await runCli('missing');
    expect(code).toBe(2);
    expect(err).toContain(`GOOGLE_APPLICATION_CREDENTIALS names ${missing}, which cannot be used`);
    expect(err).toContain('Set GOOGLE_APPLICATION_CREDENTIALS to a readable service-account key file');
    expect(existsSync(outbox)).toBe(false);
  });

  it('exits 2 when the credentials file exists but is not a key', async () => {
    const invalid = join(dir, 'invalid-key.json');
    writeFileSync(invalid, '{"type": "service_account", ');
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', invalid);
    const { code, err } = await runCli('invalid');
    expect(code).toBe(2);
    expect(err).toContain(`GOOGLE_APPLICATION_CREDENTIALS names ${invalid}, which cannot be used`);
  });

  it('exits 2 saying what to set when there are no Application Default Credentials at all', async () => {
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', undefined);
    mkdirSync(join(dir, 'no-gcloud'), { recursive: true });
    const { code, err } = await runCli('none');
    expect(code).toBe(2);
    expect(err).toContain('Google credentials: none found');
    expect(err).toContain('gcloud auth application-default login');
    expect(err).toContain('PUBSUB_EMULATOR_HOST');
  });
});

describe('gateway credentials at run time', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => process.on('unhandledRejection', onUnhandled));
  afterEach(() => process.off('unhandledRejection', onUnhandled));

  it('counts the failed publishes and keeps the windows in the outbox when the key file is gone and the key unusable', async () => {
    const keyFile = join(dir, 'service-account.json');
    writeFileSync(keyFile, JSON.stringify(SERVICE_ACCOUNT));
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', keyFile);
    const clock = new ManualClock(Date.UTC(2026, 11, 5, 12));
    const outboxPath = join(dir, 'runtime', 'outbox.sqlite');
    const logged: Array<{ msg: string; err?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string; err?: string }) });
    const gateway = await startGateway(gatewayConfigSchema.parse(config(outboxPath)), { clock, logger });
    // The key file disappears once the gateway runs (a secret unmounted, say).
    rmSync(keyFile);
    const mqtt = await connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, { reconnectPeriod: 0 });
    try {
      const t0 = clock.now();
      for (let i = 0; i < 5; i++) await mqtt.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: t0 + i * 1000, value: 60 + i }), { qos: 1 });
      // An event 12.5 s later moves the watermark past the first window's end: one window closes.
      await mqtt.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: t0 + 12_500, value: 70 }), { qos: 1 });
      const deadline = Date.now() + 20_000;
      while ((await metricValue(gateway, 'pdm_gateway_publish_errors_total')) < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));

      expect(await metricValue(gateway, 'pdm_gateway_publish_errors_total')).toBeGreaterThanOrEqual(1);
      expect(await metricValue(gateway, 'pdm_gateway_published_total')).toBe(0);
      expect(gateway.outbox.stats().depth).toBe(1);
      expect(logged.find((line) => line.msg === 'publish failed; buffering in the outbox')?.err).toBeTruthy();
      expect(unhandled).toEqual([]);
    } finally {
      await mqtt.endAsync();
      await gateway.stop();
    }
    expect(unhandled).toEqual([]);
  });
});
