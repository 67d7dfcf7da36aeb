// Bridge mode to plant brokers that take only TLS, with passwords (a mosquitto_passwd file) or client
// certificates (mosquitto's require_certificate), all made with openssl: the gateway verifies the
// broker against the configured CA and logs in; an upstream refusing its credentials is retried on the gateway clock, without
// disturbing the others, until the broker accepts them; an unreadable CA file stops the start naming its key.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@pdm/config';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigSchema } from '../config/index.js';
import { startGateway } from '../gateway.js';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';
import { type Mosquitto, startMosquitto } from '../test-support/mosquitto.js';
import { until as untilWithin } from '@pdm/pubsub-emulator/testing';

describe('bridge to TLS brokers with passwords or client certificates', () => {
  const dir = makeTestDataDir('bridge-tls');
  const file = (name: string) => join(dir, name);
  let plant: Mosquitto;
  /** A broker taking only clients with a certificate its CA signed (no passwords). */
  let certPlant: Mosquitto;
  let bed: GatewayTestbed;

  beforeAll(async () => {
    // A CA, and a broker certificate it signed for 127.0.0.1 (the name the gateway verifies).
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=pdm test plant CA');
    writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    const signed = (name: string, subject: string, ...extra: string[]) => {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
      openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file(`${name}.pem`), '-days', '1', ...extra);
    };
    signed('broker', '/CN=127.0.0.1', '-extfile', file('san.cnf'));
    // Client certificates, for the broker that takes no passwords.
    signed('gateway', '/CN=pdm-gateway');
    signed('plc', '/CN=plc-2');
    execFileSync('mosquitto_passwd', ['-b', '-c', file('passwords'), 'pdm-gateway', 'gw-secret'], { stdio: 'ignore' });
    execFileSync('mosquitto_passwd', ['-b', file('passwords'), 'plc-1', 'plc-secret'], { stdio: 'ignore' });
    writeFileSync(file('gateway-password'), 'gw-secret\n');

    plant = await startMosquitto({
      listener: [`cafile ${file('ca.pem')}`, `certfile ${file('broker.pem')}`, `keyfile ${file('broker.key')}`, `password_file ${file('passwords')}`],
      allowAnonymous: false,
      publishArgs: ['--cafile', file('ca.pem'), '-u', 'plc-1', '-P', 'plc-secret'],
    });
    const tls = [`cafile ${file('ca.pem')}`, `certfile ${file('broker.pem')}`, `keyfile ${file('broker.key')}`];
    certPlant = await startMosquitto({
      listener: [...tls, 'require_certificate true', 'use_identity_as_username true'],
      allowAnonymous: false,
      publishArgs: ['--cafile', file('ca.pem'), '--cert', file('plc.pem'), '--key', file('plc.key')],
    });
    const upstream = { url: plant.url, ca: file('ca.pem'), mappings: [{ topic: 'plant/{machine}/{sensor}' }], backoff: { initialMs: 100, maxMs: 100 } };
    bed = await startGatewayTestbed({
      bridge: {
        upstreams: [
          { ...upstream, name: 'plant', username: 'pdm-gateway', passwordFile: file('gateway-password') },
          // A user the broker does not know yet.
          { ...upstream, name: 'late-user', username: 'late-gateway', password: 'late-secret' },
          { ...upstream, url: certPlant.url, name: 'cert-plant', cert: file('gateway.pem'), key: file('gateway.key') },
        ],
      },
    });
  });

  afterAll(async () => {
    await bed.close();
    await plant.close();
    await certPlant.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const metric = (name: string, labels: string) => metricValue(bed.gateway, name, labels);

  const until = (condition: () => Promise<boolean>, what: string, timeoutMs = 15_000) => untilWithin(condition, what, timeoutMs);

  it('verifies the broker against the CA file, logs in with the password from its file and ingests', async () => {
    await until(async () => (await metric('pdm_gateway_bridge_connected', 'upstream="plant"')) === 1, 'the bridge connected over TLS');
    await plant.publish('plant/press-1/temp', JSON.stringify({ value: 42, ts: T0 }));
    await until(async () => (await metric('pdm_gateway_bridge_messages_total', 'upstream="plant",outcome="ingested"')) === 1, 'the reading ingested');
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(1);
  });

  it('logs in with a client certificate where the broker requires one', async () => {
    await until(async () => (await metric('pdm_gateway_bridge_connected', 'upstream="cert-plant"')) === 1, 'the bridge connected with its certificate');
    await certPlant.publish('plant/press-2/temp', JSON.stringify({ value: 7, ts: T0 }));
    await until(async () => (await metric('pdm_gateway_bridge_messages_total', 'upstream="cert-plant",outcome="ingested"')) === 1, 'the reading ingested');
  });

  it('retries an upstream that refuses its password on the gateway clock, and connects once the broker accepts it', async () => {
    const lateUser = () => metric('pdm_gateway_bridge_connected', 'upstream="late-user"');
    bed.clock.advance(100);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await lateUser()).toBe(0);
    expect(await metric('pdm_gateway_bridge_connected', 'upstream="plant"')).toBe(1); // the other upstream is undisturbed

    execFileSync('mosquitto_passwd', ['-b', file('passwords'), 'late-gateway', 'late-secret'], { stdio: 'ignore' });
    plant.reload();
    await until(async () => {
      bed.clock.advance(100); // each attempt waits for its back-off on the gateway clock
      return (await lateUser()) === 1;
    }, 'the upstream connected once its user exists');
    expect(await metric('pdm_gateway_bridge_connects_total', 'upstream="late-user"')).toBe(1);
  });

  it('refuses to start when a CA file cannot be read, naming its key', async () => {
    const config = bed.config({
      outbox: { path: join(bed.dataDir, 'other-outbox.sqlite') },
      bridge: { upstreams: [{ name: 'plant', url: plant.url, ca: file('missing-ca.pem'), mappings: [{ topic: 'plant/{machine}/{sensor}' }] }] },
    });
    const start = startGateway(gatewayConfigSchema.parse(config), { clock: bed.clock });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(/^bridge\.upstreams\.0\.ca: cannot read .*missing-ca\.pem/);
  });
});
