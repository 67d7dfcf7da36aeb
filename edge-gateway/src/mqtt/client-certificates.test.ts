// Client certificates on the TLS listener, with certificates made by openssl and real clients
// (mqtt.js, Debian's mosquitto_pub): a certificate the CA bundle verifies authenticates its client as
// the users-file user its subject CN names, with that user's ACL; TLS-only mode turns the plain
// listener off.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Socket, connect as connectTcp, createServer } from 'node:net';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import type { MachineWindow } from '@pdm/proto';
import { connectAsync, connect as mqttConnect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';
import { Users } from './index.js';
import { until as untilWithin } from '@pdm/pubsub-emulator/testing';

describe('gateway taking client certificates, TLS only', () => {
  const dir = makeTestDataDir('client-certificates');
  const file = (name: string) => join(dir, name);
  let bed: GatewayTestbed;
  let plainPort: number;

  beforeAll(async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    const ca = (name: string) =>
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '1', '-subj', `/CN=${name}`);
    ca('plant-ca');
    ca('other-ca');
    writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    const signed = (name: string, subject: string, by: string, ...extra: string[]) => {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
      openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${by}.pem`), '-CAkey', file(`${by}.key`), '-CAcreateserial', '-out', file(`${name}.pem`), '-days', '1', ...extra);
    };
    signed('gateway', '/CN=127.0.0.1', 'plant-ca', '-extfile', file('san.cnf'));
    signed('plc-7', '/O=Plant/CN=plc-7', 'plant-ca');
    signed('stranger', '/CN=stranger', 'plant-ca');
    signed('forged-plc-7', '/CN=plc-7', 'other-ca');

    // plc-7 has no password: it can only connect with its certificate.
    writeFileSync(file('users.yaml'), ['users:', '  - username: plc-7', '    publish: ["sensors/press-7/#"]'].join('\n'));

    // A port nothing listens on once this server is closed: the gateway is told to use it for plain MQTT.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    plainPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    bed = await startGatewayTestbed({
      mqtt: {
        port: plainPort,
        plain: false,
        allowAnonymous: false,
        usersFile: file('users.yaml'),
        tls: { port: 0, cert: file('gateway.pem'), key: file('gateway.key'), ca: file('plant-ca.pem'), requireClientCert: true },
      },
    });
  });
  afterAll(async () => {
    await bed?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = () => `mqtts://127.0.0.1:${bed.gateway.tlsPort}`;
  /** TLS options of a client presenting `name`'s certificate (none: no certificate) and verifying the gateway's. */
  const tlsAs = (name?: string) => ({
    ca: readFileSync(file('plant-ca.pem')),
    ...(name ? { cert: readFileSync(file(`${name}.pem`)), key: readFileSync(file(`${name}.key`)) } : {}),
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
  const readings = () => metricValue(bed.gateway, 'pdm_gateway_readings_total');
  /**
   * Whether an MQTT client with these options gets a CONNACK. A client certificate is refused after
   * the TLS 1.3 handshake has completed on the client's side, so the client sees its connection close
   * rather than an error: both count as refused.
   */
  const connects = (options: ReturnType<typeof tlsAs>) =>
    new Promise<boolean>((resolve) => {
      const client = mqttConnect(url(), options);
      client.once('connect', () => {
        client.end(true);
        resolve(true);
      });
      for (const event of ['error', 'close'] as const) {
        client.once(event, () => {
          client.end(true);
          resolve(false);
        });
      }
    });

  const until = (condition: () => boolean, what: string, timeoutMs = 15_000) => untilWithin(condition, what, timeoutMs);

  it('authenticates a certificate whose CN is a user, without a password, and windows its readings', async () => {
    const before = await readings();
    const client = await connectAsync(url(), tlsAs('plc-7'));
    for (const [i, value] of [10, 11, 12, 13, 14].entries()) {
      await client.publishAsync('sensors/press-7/temp', JSON.stringify({ value, ts: T0 + i * 1_000 }), { qos: 1 });
    }
    // A reading at T0 + 12.5 s moves the watermark (2 s lateness) past the first window's end.
    await client.publishAsync('sensors/press-7/temp', JSON.stringify({ value: 0, ts: T0 + 12_500 }), { qos: 1 });
    await client.endAsync();
    expect(await readings()).toBe(before + 6);

    let window: MachineWindow | undefined;
    await until(() => (window = bed.windows().find((w) => w.machineId === 'press-7' && w.windowStart === BigInt(T0))) !== undefined, "press-7's first window");
    const temp = window!.sensors.find((s) => s.sensorId === 'temp');
    expect(temp?.count).toBe(5);
    expect(temp?.mean).toBe(12); // (10 + 11 + 12 + 13 + 14) / 5
  });

  it("holds a certificate's client to its user's ACL", async () => {
    const before = await readings();
    const unauthorized = await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="unauthorized"');
    const client = await connectAsync(url(), tlsAs('plc-7'));
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('sensors/press-8/temp', JSON.stringify({ value: 1 }), { qos: 1 });
    await closed;
    client.end(true);
    expect(await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="unauthorized"')).toBe(unauthorized + 1);
    expect(await readings()).toBe(before);
  });

  it('refuses a verified certificate whose CN is no user, and counts it', async () => {
    await expect(connectAsync(url(), tlsAs('stranger'))).rejects.toThrow(/Not authorized/i);
    expect(await metricValue(bed.gateway, 'pdm_gateway_connect_refused_total', 'reason="unknown_certificate"')).toBe(1);
  });

  it('refuses a client without a certificate, and one whose certificate another CA signed (same CN)', async () => {
    expect(await connects(tlsAs('plc-7'))).toBe(true);
    expect(await connects(tlsAs())).toBe(false);
    expect(await connects(tlsAs('forged-plc-7'))).toBe(false);
    // Refused in the TLS handshake: no CONNECT was read, so neither is an MQTT refusal; each counts as a failed handshake.
    expect(await metricValue(bed.gateway, 'pdm_gateway_connect_refused_total', 'reason="unknown_certificate"')).toBe(1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_connect_refused_total', 'reason="tls_handshake"')).toBe(2);
  });

  it('counts no refused handshake for a TCP probe that closes before any TLS byte; bytes that are not TLS still count', async () => {
    const handshakes = () => metricValue(bed.gateway, 'pdm_gateway_connect_refused_total', 'reason="tls_handshake"');
    const before = await handshakes();
    /** Connects to the TLS port, does `then` and waits until the connection has closed. */
    const connection = (then: (socket: Socket) => void) =>
      new Promise<void>((resolve) => {
        const socket = connectTcp(bed.gateway.tlsPort!, '127.0.0.1');
        socket.on('error', () => {});
        socket.once('connect', () => then(socket));
        socket.once('close', () => resolve());
      });
    await connection((socket) => socket.end()); // a health check (blackbox tcp_connect, HAProxy, Kubernetes tcpSocket)
    await connection((socket) => socket.resetAndDestroy()); // the same, ended with a reset
    await connection((socket) => socket.end('CONNECT\r\n')); // not TLS at all: a refused handshake
    const deadline = Date.now() + 5_000;
    while ((await handshakes()) === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 200)); // for a count that comes late
    expect(await handshakes()).toBe(before + 1);
  });

  it('does not let a certificate-only user in with a password', async () => {
    expect(await Users.load(file('users.yaml')).authenticate('plc-7', '')).toBeUndefined();
  });

  it('listens on no plain port in TLS-only mode', async () => {
    expect(bed.gateway.mqttPort).toBe(0);
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const socket = connectTcp(plainPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', resolve);
    });
    expect(error?.code).toBe('ECONNREFUSED');
  });

  it('interoperates with mosquitto_pub --cert/--key/--cafile', async () => {
    const before = await readings();
    // Stamped after the window the first test closed: a reading in it would be refused as late.
    const args = ['-h', '127.0.0.1', '-p', String(bed.gateway.tlsPort), '--cafile', file('plant-ca.pem'), '-q', '1', '-t', 'sensors/press-7/temp', '-m', JSON.stringify({ value: 7, ts: T0 + 20_000 })];
    // Asynchronous: the gateway under test runs in this process and must keep serving meanwhile.
    const pub = (name: string) =>
      new Promise<{ status: number; stderr: string }>((resolve) =>
        execFile('mosquitto_pub', [...args, '--cert', file(`${name}.pem`), '--key', file(`${name}.key`)], { timeout: 10_000 }, (error, _stdout, stderr) =>
          resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }),
        ),
      );
    expect(await pub('plc-7')).toEqual({ status: 0, stderr: '' });
    expect(await readings()).toBe(before + 1);
    expect((await pub('stranger')).status).not.toBe(0);
    expect(await readings()).toBe(before + 1);
  });
});
