// A certificate and key that parse and match but that OpenSSL refuses at its security level (a 512-bit
// RSA key: "ee key too small"; a certificate signed with SHA-1: "ca md too weak"), made by openssl:
// refused at start and on reload (SIGHUP) with the config key, the file and OpenSSL's reason; a refused
// reload is counted and the listener keeps serving its previous certificate.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatewayCli } from '../cli.js';
import { certificateMaker } from '../test-support/certificates.js';
import { type GatewayTestbed, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';
import { TlsFileError, loadCredentials } from './index.js';

const dir = makeTestDataDir('weak-certificates');
const certificates = certificateMaker(dir);
const file = certificates.file;
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });

beforeAll(() => {
  certificates.ca('ca');
  certificates.signed('good', '/CN=127.0.0.1', 'ca', '127.0.0.1');
  openssl('req', '-x509', '-newkey', 'rsa:512', '-nodes', '-keyout', file('small.key'), '-out', file('small.pem'), '-days', '1', '-subj', '/CN=127.0.0.1');
  // A 2048-bit key, but its certificate signed by the CA with SHA-1.
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('sha1.key'), '-out', file('sha1.csr'), '-subj', '/CN=127.0.0.1');
  openssl('x509', '-req', '-sha1', '-in', file('sha1.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('sha1.pem'), '-days', '1');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refusal = (name: string, reason: string) => `mqtt.tls.cert ${file(`${name}.pem`)} is refused by OpenSSL: ${reason} (below its security level: `;

describe('TLS files OpenSSL refuses as too weak', () => {
  it('are refused when the credentials are loaded, naming the key, the file and the reason', () => {
    const load = (name: string) => () => loadCredentials({ tls: { cert: file(`${name}.pem`), key: file(`${name}.key`), ca: file('ca.pem') } });
    expect(load('small')).toThrow(TlsFileError);
    expect(load('small')).toThrow(refusal('small', 'ee key too small'));
    expect(load('sha1')).toThrow(refusal('sha1', 'ca md too weak'));
    expect(load('good')).not.toThrow();
  });

  it('stop the gateway at start with exit 2 and the refusal, before it opens anything', async () => {
    const outbox = file('start/outbox.sqlite');
    const configFile = file('start.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true, tls: { port: 0, cert: file('small.pem'), key: file('small.key') } },
        http: { host: '127.0.0.1', port: 0 },
        outbox: { path: outbox },
        pubsub: { projectId: 'pdm-test', topic: 'features', emulatorHost: '127.0.0.1:9' },
        log: { level: 'silent' },
      }),
    );
    const err: string[] = [];
    const code = await runGatewayCli(['--config', configFile], { out: () => undefined, err: (line) => err.push(line), waitForStop: () => Promise.resolve('SIGTERM') });
    expect(err.join('\n')).toContain(`pdm gateway: ${refusal('small', 'ee key too small')}`);
    expect(code).toBe(2);
    expect(existsSync(outbox)).toBe(false);
  });

  it('as a bridge upstream\'s client certificate, stop the gateway at start with exit 2, naming the upstream\'s key and the file', async () => {
    const run = async (name: string) => {
      const configFile = file(`bridge-${name}.json`);
      writeFileSync(
        configFile,
        JSON.stringify({
          mqtt: { enabled: false },
          bridge: { upstreams: [{ name: 'plant', url: 'mqtts://127.0.0.1:9', ca: file('ca.pem'), cert: file(`${name}.pem`), key: file(`${name}.key`), mappings: [{ topic: 'plant/{machine}/{sensor}' }] }] },
          http: { host: '127.0.0.1', port: 0 },
          outbox: { path: file(`bridge-${name}/outbox.sqlite`) },
          pubsub: { projectId: 'pdm-test', topic: 'features', emulatorHost: '127.0.0.1:9' },
          log: { level: 'silent' },
        }),
      );
      const err: string[] = [];
      const code = await runGatewayCli(['--config', configFile], { out: () => undefined, err: (line) => err.push(line), waitForStop: () => Promise.resolve('SIGTERM') });
      return { code, err: err.join('\n') };
    };
    // The certificate holds the small key too: it is the first file OpenSSL refuses, as for the listener.
    for (const [name, reason] of [['small', 'ee key too small'], ['sha1', 'ca md too weak']] as const) {
      const { code, err } = await run(name);
      expect(code).toBe(2);
      expect(err).toContain(`pdm gateway: bridge.upstreams.0.cert ${file(`${name}.pem`)} is refused by OpenSSL: ${reason} (below its security level: `);
    }
  });

  describe('on reload', () => {
    let bed: GatewayTestbed;
    beforeAll(async () => {
      copyFileSync(file('good.pem'), file('server.pem'));
      copyFileSync(file('good.key'), file('server.key'));
      bed = await startGatewayTestbed({ mqtt: { tls: { port: 0, cert: file('server.pem'), key: file('server.key') } } });
    });
    afterAll(() => bed?.close());

    /** The fingerprint of the certificate the TLS listener serves a new connection. */
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port: bed.gateway.tlsPort!, ca: readFileSync(file('ca.pem')) }, () => {
          resolve(socket.getPeerCertificate().fingerprint256);
          socket.destroy();
        }).on('error', reject);
      });

    it('are refused, named and counted, and the previous certificate stays in force', async () => {
      const reloads = (result: string) => metricValue(bed.gateway, 'pdm_gateway_reload_total', `result="${result}"`);
      const good = new X509Certificate(readFileSync(file('good.pem'))).fingerprint256;
      expect(await served()).toBe(good);

      for (const [name, reason] of [['small', 'ee key too small'], ['sha1', 'ca md too weak']] as const) {
        copyFileSync(file(`${name}.pem`), file('server.pem'));
        copyFileSync(file(`${name}.key`), file('server.key'));
        const result = bed.gateway.reloadCredentials();
        expect(result.ok).toBe(false);
        expect(!result.ok && result.error).toContain(refusal('server', reason));
      }
      expect(await reloads('refused')).toBe(2);
      expect(await reloads('ok')).toBe(0);
      expect(await served()).toBe(good);
    });
  });
});
