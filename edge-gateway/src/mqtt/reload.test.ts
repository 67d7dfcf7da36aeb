// Reloading the users file and the TLS certificates while devices are connected (SIGHUP), with real
// clients (mqtt.js, Debian's mosquitto_pub) and openssl-made certificates: a connected client keeps its
// connection, the next connections meet the new users and certificates, and a bad file is refused,
// counted, and leaves the previous ones in force.
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { startTestEmulator } from '@pdm/pubsub-emulator/testing';
import { type MqttClient, connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateMaker } from '../test-support/certificates.js';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';
import { type GatewayProcess, startGatewayProcess } from '../test-support/gateway-process.js';
import { hashPassword } from './index.js';

const TEST_COST = { N: 1024, r: 8, p: 1 };

/** A users file: each user with a password, or (null) certificate-only. */
async function usersYaml(users: Record<string, string | null>): Promise<string> {
  const lines = ['users:'];
  for (const [username, password] of Object.entries(users)) {
    lines.push(`  - username: ${username}`);
    if (password !== null) lines.push(`    passwordHash: "${await hashPassword(password, TEST_COST)}"`);
  }
  return lines.join('\n');
}

/** Runs mosquitto_pub once (asynchronously: a gateway under test may run in this process); its exit status. */
function mosquittoPub(args: string[]): Promise<number> {
  return new Promise((resolve) =>
    execFile('mosquitto_pub', ['-h', '127.0.0.1', '-q', '1', ...args], { timeout: 10_000 }, (error) =>
      resolve(error ? (typeof error.code === 'number' ? error.code : 1) : 0),
    ),
  );
}

const reading = (value: number, ts: number) => JSON.stringify({ value, ts });

describe('reloading the users file and certificates of a running gateway', () => {
  const dir = makeTestDataDir('credentials-reload');
  const certificates = certificateMaker(dir);
  const file = certificates.file;
  let bed: GatewayTestbed;

  beforeAll(async () => {
    certificates.ca('old-ca');
    certificates.ca('new-ca');
    certificates.signed('gateway-old', '/CN=127.0.0.1', 'old-ca', '127.0.0.1');
    certificates.signed('gateway-new', '/CN=127.0.0.1', 'new-ca', '127.0.0.1');
    certificates.signed('plc-9', '/CN=plc-9', 'new-ca');
    // The files the gateway is configured with; the tests replace their contents and reload.
    copyFileSync(file('gateway-old.pem'), file('server.pem'));
    copyFileSync(file('gateway-old.key'), file('server.key'));
    copyFileSync(file('old-ca.pem'), file('clients-ca.pem'));
    writeFileSync(file('users.yaml'), await usersYaml({ alice: 'alice-pw' }));
    bed = await startGatewayTestbed({
      mqtt: {
        allowAnonymous: false,
        usersFile: file('users.yaml'),
        tls: { port: 0, cert: file('server.pem'), key: file('server.key'), ca: file('clients-ca.pem') },
      },
    });
  });
  afterAll(async () => {
    await bed?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const readings = () => metricValue(bed.gateway, 'pdm_gateway_readings_total');
  /** Reloads, expecting a refusal; its message. */
  const refusal = (): string => {
    const result = bed.gateway.reloadCredentials();
    if (result.ok) throw new Error('the reload was not refused');
    return result.error;
  };
  const reloads = (result: 'ok' | 'refused') => metricValue(bed.gateway, 'pdm_gateway_reload_total', `result="${result}"`);
  const plainPub = (username: string, password: string, machine: string, ts: number) =>
    mosquittoPub(['-p', String(bed.gateway.mqttPort), '-u', username, '-P', password, '-t', `sensors/${machine}/temp`, '-m', reading(1, ts)]);
  /** mosquitto_pub over TLS trusting `ca`, with plc-9's client certificate. */
  const certificatePub = (ca: string, machine: string, ts: number) =>
    mosquittoPub(['-p', String(bed.gateway.tlsPort), '--cafile', file(`${ca}.pem`), '--cert', file('plc-9.pem'), '--key', file('plc-9.key'), '-t', `sensors/${machine}/temp`, '-m', reading(1, ts)]);
  /** A client that counts how often its connection closed (a dropped session shows there). */
  async function connected(url: string, options: Record<string, unknown>): Promise<MqttClient & { closes: number }> {
    const client = Object.assign(await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options }), { closes: 0 });
    client.on('close', () => client.closes++);
    return client;
  }

  it('keeps a connected client publishing, lets a new user in and refuses a removed one', async () => {
    const alice = await connected(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { username: 'alice', password: 'alice-pw' });
    await alice.publishAsync('sensors/m1/temp', reading(1, T0), { qos: 1 });
    expect(await plainPub('bob', 'bob-pw', 'm2', T0)).not.toBe(0);
    const before = await readings();

    writeFileSync(file('users.yaml'), await usersYaml({ bob: 'bob-pw', 'plc-9': null }));
    expect(bed.gateway.reloadCredentials()).toEqual({ ok: true });
    expect(await reloads('ok')).toBe(1);

    // alice was removed, but her session stays: she keeps publishing at QoS 1 on her connection.
    for (let i = 1; i <= 3; i++) await alice.publishAsync('sensors/m1/temp', reading(i, T0 + i * 1_000), { qos: 1 });
    expect(alice.connected).toBe(true);
    expect(alice.closes).toBe(0);
    expect(await readings()).toBe(before + 3);
    // The next connections meet the new users file.
    expect(await plainPub('alice', 'alice-pw', 'm1', T0 + 4_000)).not.toBe(0);
    expect(await plainPub('bob', 'bob-pw', 'm2', T0)).toBe(0);
    expect(await readings()).toBe(before + 4);
    await alice.endAsync();
  });

  it('serves new certificates and a new client CA to the next TLS connections, and keeps an open TLS session', async () => {
    const oldTrust = { ca: readFileSync(file('old-ca.pem')), username: 'bob', password: 'bob-pw' };
    const bob = await connected(`mqtts://127.0.0.1:${bed.gateway.tlsPort}`, oldTrust);
    // plc-9's certificate is from the new CA, which the gateway does not trust yet (and the gateway's own is from the old one).
    expect(await certificatePub('old-ca', 'm9', T0)).not.toBe(0);

    copyFileSync(file('gateway-new.pem'), file('server.pem'));
    copyFileSync(file('gateway-new.key'), file('server.key'));
    copyFileSync(file('new-ca.pem'), file('clients-ca.pem'));
    expect(bed.gateway.reloadCredentials()).toEqual({ ok: true });

    const before = await readings();
    await bob.publishAsync('sensors/m2/temp', reading(2, T0 + 1_000), { qos: 1 });
    expect(bob.closes).toBe(0);
    expect(await certificatePub('new-ca', 'm9', T0)).toBe(0);
    expect(await readings()).toBe(before + 2);
    // A client that trusts only the old CA no longer accepts the gateway's certificate.
    await expect(connectAsync(`mqtts://127.0.0.1:${bed.gateway.tlsPort}`, { ...oldTrust, reconnectPeriod: 0, connectTimeout: 5_000 })).rejects.toThrow();
    await bob.endAsync();
  });

  it('refuses a bad file, names it, counts it, and keeps the previous users and certificates', async () => {
    const refusedBefore = await reloads('refused');
    const good = { users: readFileSync(file('users.yaml')), key: readFileSync(file('server.key')) };

    writeFileSync(file('users.yaml'), 'users:\n  - username: [not, closed\n');
    expect(refusal()).toContain(`cannot read users file ${file('users.yaml')}`);
    writeFileSync(file('users.yaml'), 'users:\n  - name: bob\n');
    const badKey = refusal();
    expect(badKey).toContain(`invalid users file ${file('users.yaml')}:\n`);
    expect(badKey).toContain('  users.0: Unrecognized key: "name"');
    writeFileSync(file('users.yaml'), good.users);

    // The old server's key with the new server's certificate.
    copyFileSync(file('gateway-old.key'), file('server.key'));
    expect(refusal()).toBe(`mqtt.tls.key ${file('server.key')} does not match the certificate mqtt.tls.cert ${file('server.pem')}`);
    writeFileSync(file('server.key'), good.key);
    rmSync(file('clients-ca.pem'));
    expect(refusal()).toContain(`cannot read mqtt.tls.ca ${file('clients-ca.pem')}: ENOENT`);
    writeFileSync(file('clients-ca.pem'), 'not a certificate\n');
    expect(refusal()).toContain(`mqtt.tls.ca ${file('clients-ca.pem')} is not usable`);
    // A bundle of the new CA and a damaged copy of the old one (base64 lines cut out): the TLS layer
    // would take the first and silently skip the second, so the reload is refused naming the block.
    const oldCaLines = readFileSync(file('old-ca.pem'), 'utf8').split('\n');
    const damaged = [...oldCaLines.slice(0, 3), ...oldCaLines.slice(8)].join('\n');
    writeFileSync(file('clients-ca.pem'), `${readFileSync(file('new-ca.pem'), 'utf8')}${damaged}`);
    expect(refusal()).toContain(`mqtt.tls.ca ${file('clients-ca.pem')} is not usable: block 2 of 2: `);
    copyFileSync(file('new-ca.pem'), file('clients-ca.pem'));
    // Files that pass every check but that the TLS layer refuses (a 512-bit key: "ee key too small"),
    // with a new user: the whole reload is refused, the new user with it.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:512', '-nodes', '-keyout', file('server.key'), '-out', file('server.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    writeFileSync(file('users.yaml'), await usersYaml({ bob: 'bob-pw', carol: 'carol-pw', 'plc-9': null }));
    expect(refusal()).toMatch(/key too small/);
    expect(await plainPub('carol', 'carol-pw', 'm3', T0)).not.toBe(0);
    writeFileSync(file('users.yaml'), good.users);
    copyFileSync(file('gateway-new.pem'), file('server.pem'));
    writeFileSync(file('server.key'), good.key);
    expect(await reloads('refused')).toBe(refusedBefore + 7);

    // Still in force: bob's password, and the new certificates with the new client CA.
    expect(await plainPub('bob', 'bob-pw', 'm2', T0 + 2_000)).toBe(0);
    expect(await certificatePub('new-ca', 'm9', T0 + 1_000)).toBe(0);
    expect(await plainPub('alice', 'alice-pw', 'm1', T0 + 5_000)).not.toBe(0);
  });
});

describe('a gateway process on SIGHUP', () => {
  const dir = makeTestDataDir('credentials-reload-process');
  let gateway: GatewayProcess | undefined;
  afterAll(() => {
    gateway?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('reloads its users file and stays up', async () => {
    const pubsub = await startTestEmulator();
    try {
      const usersFile = join(dir, 'users.yaml');
      writeFileSync(usersFile, await usersYaml({ alice: 'alice-pw' }));
      const started = await startGatewayProcess(dir, pubsub.emulator.endpoint, { mqtt: { usersFile }, log: { level: 'warn' } });
      gateway = started;
      const pub = (username: string, password: string) =>
        mosquittoPub(['-p', String(started.mqttPort), '-u', username, '-P', password, '-t', 'sensors/m1/temp', '-m', reading(1, Date.now())]);
      expect(await pub('bob', 'bob-pw')).not.toBe(0);

      writeFileSync(usersFile, await usersYaml({ bob: 'bob-pw' }));
      started.child.kill('SIGHUP');
      const deadline = Date.now() + 10_000;
      while (!(await started.metrics()).includes('pdm_gateway_reload_total{result="ok"} 1')) {
        if (Date.now() > deadline) throw new Error(`no reload counted:\n${started.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await pub('bob', 'bob-pw')).toBe(0);
      expect(await pub('alice', 'alice-pw')).not.toBe(0);
      expect(started.child.exitCode).toBeNull();
      expect(started.child.signalCode).toBeNull();
      expect(await started.stop()).toBe(0);
      gateway = undefined;
    } finally {
      await pubsub.close();
    }
  });
});
