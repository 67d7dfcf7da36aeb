// Authentication, ACLs and the TLS and WebSocket listeners, with real MQTT clients: mqtt.js and
// Debian's mosquitto_pub.
import { execFile, execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayTestbed, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';
import { Users, UsersFileError, hashPassword, verifyPassword } from './index.js';

// Cheap scrypt parameters keep the test fast; production hashes use N=16384.
const TEST_COST = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('verify only the password they were made from', async () => {
    const hash = await hashPassword('s3cret', TEST_COST);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword('s3cret', hash)).toBe(true);
    expect(await verifyPassword('s3cret ', hash)).toBe(false);
    expect(await verifyPassword('s3cret', 'plaintext')).toBe(false);
    expect(await hashPassword('s3cret', TEST_COST)).not.toBe(hash); // salted
  });
});

describe('the users file', () => {
  const dir = makeTestDataDir('users-file');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an ACL filter that is not an MQTT topic filter, naming the file, the user and the filter', async () => {
    const usersFile = join(dir, 'bad-filter.yaml');
    const hash = await hashPassword('pw', TEST_COST);
    writeFileSync(
      usersFile,
      ['users:', '  - username: line-1-plc', `    passwordHash: "${hash}"`, '    publish: ["sensors/press-+/#"]', '    subscribe: ["alerts/#/x"]'].join('\n'),
    );
    let message = '';
    try {
      Users.load(usersFile);
    } catch (error) {
      expect(error).toBeInstanceOf(UsersFileError);
      message = (error as Error).message;
    }
    expect(message).toContain(usersFile);
    expect(message).toContain('users.0 (line-1-plc).publish.0: "sensors/press-+/#" is not an MQTT topic filter: "+" must be a whole level');
    expect(message).toContain('users.0 (line-1-plc).subscribe.0: "alerts/#/x" is not an MQTT topic filter: "#" must be a whole level and the last one');
  });

  it('accepts the README example, which grants the device its own machines by name', async () => {
    const usersFile = join(dir, 'good-filter.yaml');
    const publish = '    publish: ["sensors/press-1/#", "sensors/press-2/#"]   # MQTT topic filters: + and # are whole levels; default sensors/#';
    writeFileSync(usersFile, ['users:', '  - username: line-1-plc', `    passwordHash: "${await hashPassword('pw', TEST_COST)}"`, publish].join('\n'));
    const user = await Users.load(usersFile).authenticate('line-1-plc', 'pw');
    expect(user).toMatchObject({ publish: ['sensors/press-1/#', 'sensors/press-2/#'], subscribe: [] });
    expect(Users.mayPublish(user!, 'sensors/press-1/pressure')).toBe(true);
    expect(Users.mayPublish(user!, 'sensors/press-2/temp/pb')).toBe(true);
    expect(Users.mayPublish(user!, 'sensors/press-3/pressure')).toBe(false);
  });
});

describe('gateway with users, ACLs, TLS and WebSocket', () => {
  let bed: GatewayTestbed;
  let url: string;
  const dir = makeTestDataDir('gateway-auth');
  beforeAll(async () => {
    const usersFile = join(dir, 'users.yaml');
    writeFileSync(
      usersFile,
      [
        'users:',
        '  - username: plc-1',
        `    passwordHash: "${await hashPassword('right-password', TEST_COST)}"`,
        '    publish: ["sensors/press-1/#"]',
      ].join('\n'),
    );
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], {
      stdio: 'ignore',
    });
    bed = await startGatewayTestbed({
      mqtt: { allowAnonymous: false, usersFile, tls: { port: 0, cert, key }, websocket: { port: 0, path: '/mqtt' } },
    });
    url = `mqtt://127.0.0.1:${bed.gateway.mqttPort}`;
  });
  afterAll(async () => {
    await bed.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const credentials = { username: 'plc-1', password: 'right-password', reconnectPeriod: 0 };

  it('accepts a client with valid credentials and ingests its readings', async () => {
    const before = await metricValue(bed.gateway, 'pdm_gateway_readings_total');
    const client = await connectAsync(url, credentials);
    await client.publishAsync('sensors/press-1/pressure', JSON.stringify({ value: 4.2 }), { qos: 1 });
    await client.endAsync();
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(before + 1);
  });

  it('refuses a wrong password and an anonymous client, and counts both', async () => {
    await expect(connectAsync(url, { ...credentials, password: 'wrong' })).rejects.toThrow(/Bad username or password/i);
    await expect(connectAsync(url, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized/i);
    expect(await metricValue(bed.gateway, 'pdm_gateway_connect_refused_total', 'reason="bad_credentials"')).toBeGreaterThanOrEqual(1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_connect_refused_total', 'reason="anonymous"')).toBeGreaterThanOrEqual(1);
  });

  it('disconnects a client that publishes outside its ACL and keeps its reading out', async () => {
    const before = await metricValue(bed.gateway, 'pdm_gateway_readings_total');
    const client = await connectAsync(url, credentials);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('sensors/press-2/pressure', JSON.stringify({ value: 1 }), { qos: 1 });
    await closed;
    client.end(true);
    expect(await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="unauthorized"')).toBe(1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(before);
  });

  it('interoperates with mosquitto_pub: accepted with valid credentials, refused otherwise', async () => {
    const port = String(bed.gateway.mqttPort);
    // Asynchronous: the gateway under test runs in this process and must keep serving meanwhile.
    const pub = (user: string, password: string, topic: string) =>
      new Promise<{ status: number; stderr: string }>((resolve) => {
        const args = ['-h', '127.0.0.1', '-p', port, '-u', user, '-P', password, '-q', '1', '-t', topic, '-m', '{"value": 7}'];
        execFile('mosquitto_pub', args, { timeout: 10_000 }, (error, _stdout, stderr) =>
          resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }),
        );
      });
    const readings = await metricValue(bed.gateway, 'pdm_gateway_readings_total');
    const unauthorized = await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="unauthorized"');

    const ok = await pub('plc-1', 'right-password', 'sensors/press-1/temp');
    expect(ok.status).toBe(0);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(readings + 1);

    const badPassword = await pub('plc-1', 'nope', 'sensors/press-1/temp');
    expect(badPassword.status).not.toBe(0);
    expect(badPassword.stderr).toMatch(/not authori[sz]ed|bad user name or password/i);

    await pub('plc-1', 'right-password', 'sensors/other/temp');
    expect(await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="unauthorized"')).toBe(unauthorized + 1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(readings + 1);
  });

  it('accepts MQTT over TLS and over WebSocket', async () => {
    const before = await metricValue(bed.gateway, 'pdm_gateway_readings_total');
    const overTls = await connectAsync(`mqtts://127.0.0.1:${bed.gateway.tlsPort}`, { ...credentials, rejectUnauthorized: false });
    await overTls.publishAsync('sensors/press-1/temp', JSON.stringify({ value: 1 }), { qos: 1 });
    await overTls.endAsync();
    const overWs = await connectAsync(`ws://127.0.0.1:${bed.gateway.websocketPort}/mqtt`, credentials);
    await overWs.publishAsync('sensors/press-1/temp', JSON.stringify({ value: 2 }), { qos: 1 });
    await overWs.endAsync();
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(before + 2);
  });
});

describe('gateway allowing anonymous clients, with a subscribe ACL', () => {
  let bed: GatewayTestbed;
  let url: string;
  const dir = makeTestDataDir('gateway-anonymous');
  beforeAll(async () => {
    const usersFile = join(dir, 'users.yaml');
    writeFileSync(
      usersFile,
      ['users:', '  - username: alerts-reader', `    passwordHash: "${await hashPassword('pw', TEST_COST)}"`, '    publish: []', '    subscribe: ["alerts/+"]'].join('\n'),
    );
    // The anonymous ACL is left at its defaults: publish sensors/#, subscribe nothing.
    bed = await startGatewayTestbed({ mqtt: { allowAnonymous: true, usersFile } });
    url = `mqtt://127.0.0.1:${bed.gateway.mqttPort}`;
  });
  afterAll(async () => {
    await bed.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The granted QoS of each filter in the SUBACK; 128 is a refusal. */
  const granted = async (options: { username?: string; password?: string }, filters: string[]) => {
    const client = await connectAsync(url, { ...options, reconnectPeriod: 0 });
    try {
      return (await client.subscribeAsync(filters, { qos: 0 })).map((grant) => grant.qos);
    } catch (error) {
      // mqtt.js rejects a SUBACK that refuses anything; the packet it carries still lists every grant.
      const suback = (error as { packet?: { granted?: number[] } }).packet;
      if (!suback?.granted) throw error;
      return suback.granted;
    } finally {
      await client.endAsync();
    }
  };

  it('lets an anonymous client publish sensor readings', async () => {
    const before = await metricValue(bed.gateway, 'pdm_gateway_readings_total');
    const client = await connectAsync(url, { reconnectPeriod: 0 });
    await client.publishAsync('sensors/anon-1/temp', JSON.stringify({ value: 3 }), { qos: 1 });
    await client.endAsync();
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(before + 1);
  });

  it('disconnects an anonymous client that publishes outside its ACL, and counts it', async () => {
    const unauthorized = await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="unauthorized"');
    const client = await connectAsync(url, { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('alerts/pump-1', JSON.stringify({ value: 1 }), { qos: 1 });
    await closed;
    client.end(true);
    expect(await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="unauthorized"')).toBe(unauthorized + 1);
  });

  it('refuses every subscription of an anonymous client by default, # included', async () => {
    expect(await granted({}, ['#', 'sensors/#', '$SYS/#'])).toEqual([128, 128, 128]);
  });

  it('grants alerts/+ and what it covers, but not alerts/# or alerts', async () => {
    const reader = { username: 'alerts-reader', password: 'pw' };
    expect(await granted(reader, ['alerts/+', 'alerts/pump-1', 'alerts/#', 'alerts', 'alerts/pump-1/x', '#'])).toEqual([0, 0, 128, 128, 128, 128]);
  });

  it('refuses alerts/# to mosquitto_sub too', async () => {
    const args = ['-h', '127.0.0.1', '-p', String(bed.gateway.mqttPort), '-u', 'alerts-reader', '-P', 'pw', '-t', 'alerts/#', '-W', '3'];
    // Asynchronous: the gateway under test runs in this process and must keep serving meanwhile.
    const stderr = await new Promise<string>((resolve) => execFile('mosquitto_sub', args, { timeout: 10_000 }, (_error, _stdout, err) => resolve(err)));
    expect(stderr).toMatch(/denied|rejected/i);
  });
});

describe('a restart storm of password devices', () => {
  // Distinct users (a verified password is remembered per user) with the production scrypt cost
  // (~50 ms a check): far more CONNECTs arrive within the first check than may wait for one.
  const DEVICES = 100;
  let bed: GatewayTestbed;
  let url: string;
  const dir = makeTestDataDir('gateway-login-storm');
  beforeAll(async () => {
    const usersFile = join(dir, 'users.yaml');
    const passwordHash = await hashPassword('plant-password');
    const users = Array.from({ length: DEVICES }, (_, i) => [`  - username: plc-${i}`, `    passwordHash: "${passwordHash}"`, `    publish: ["sensors/press-${i}/#"]`]);
    writeFileSync(usersFile, ['users:', ...users.flat()].join('\n'));
    bed = await startGatewayTestbed({ mqtt: { allowAnonymous: false, usersFile } });
    url = `mqtt://127.0.0.1:${bed.gateway.mqttPort}`;
  });
  afterAll(async () => {
    await bed.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = (i: number) => connectAsync(url, { username: `plc-${i}`, password: 'plant-password', reconnectPeriod: 0, connectTimeout: 30_000 });

  it('refuses the devices beyond the waiting checks as "server unavailable", which they retry, never as a bad password', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: DEVICES }, (_, i) => connect(i)));
    const refused = outcomes.flatMap((outcome, i) => (outcome.status === 'rejected' ? [{ i, reason: String(outcome.reason) }] : []));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.filter(({ reason }) => !/Server unavailable/i.test(reason))).toEqual([]);
    expect(await metricValue(bed.gateway, 'pdm_gateway_connect_refused_total', 'reason="busy"')).toBe(refused.length);
    expect(await metricValue(bed.gateway, 'pdm_gateway_connect_refused_total', 'reason="bad_credentials"')).toBe(0);

    // Their retries get in, one check each.
    const retried = await Promise.all(refused.map(({ i }) => connect(i)));
    const connected = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    expect(connected.length + retried.length).toBe(DEVICES);
    await Promise.all([...connected, ...retried].map((client) => client.endAsync()));
  });
});
