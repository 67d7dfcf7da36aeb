// A graceful stop ends every connection the MQTT listeners hold, MQTT client or not, so that it
// finishes well inside a service manager's stop timeout (systemd's TimeoutStopSec=30) and writes its
// shutdown checkpoint; /readyz answers "stopping" from its first moment.
import { rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { type Socket, connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { makeTestDataDir } from '@pdm/influx-harness';
import { CloseReason, type MachineWindow } from '@pdm/proto';
import { connect as mqttConnect, connectAsync } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from './mqtt/index.js';
import { certificateMaker } from './test-support/certificates.js';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from './test-support/gateway-harness.js';
import { until } from '@pdm/pubsub-emulator/testing';

const sleep = (ms: number) => new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms));
const summary = (w: MachineWindow) => [Number(w.windowStart) - T0, w.revision, w.closeReason, w.sensors[0]?.count, w.sensors[0]?.mean];

describe('graceful stop', () => {
  const dir = makeTestDataDir('graceful-stop');
  const certificates = certificateMaker(dir);
  let bed: GatewayTestbed | undefined;
  /** Connections this test opened: destroyed after each test, so that a stop that waits for them (the old code) still ends. */
  const opened: Socket[] = [];

  beforeAll(async () => {
    certificates.ca('gateway');
    // 16 times the production cost (~1 s): the check is still running when the stop begins.
    const slowHash = await hashPassword('slow-password', { N: 16_384, r: 8, p: 16 });
    writeFileSync(join(dir, 'users.yaml'), ['users:', '  - username: slow-plc', `    passwordHash: "${slowHash}"`].join('\n'));
  });
  afterEach(async () => {
    for (const socket of opened.splice(0)) socket.destroy();
    await bed?.close();
    bed = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A TCP connection to `port` that sends `bytes` (nothing by default) and then waits. */
  async function rawConnection(port: number, bytes = ''): Promise<Socket> {
    const socket = connectTcp(port, '127.0.0.1');
    socket.on('error', () => {});
    opened.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    if (bytes !== '') socket.write(bytes);
    return socket;
  }

  /** A plain HTTP GET: its status and upgrade header. */
  const httpGet = (port: number, path: string) =>
    new Promise<{ status: number | undefined; upgrade: string | undefined }>((resolve, reject) => {
      const get = request({ host: '127.0.0.1', port, path }, (response) => {
        response.resume();
        resolve({ status: response.statusCode, upgrade: response.headers.upgrade });
      });
      get.on('socket', (socket) => opened.push(socket));
      get.on('error', reject);
      get.end();
    });

  it('ends a connection without CONNECT, one whose password is being checked, a TLS handshake and HTTP requests on the WebSocket port at once, and writes its checkpoint', async () => {
    bed = await startGatewayTestbed({
      mqtt: {
        usersFile: join(dir, 'users.yaml'),
        tls: { port: 0, cert: certificates.file('gateway.pem'), key: certificates.file('gateway.key') },
        websocket: { port: 0, path: '/mqtt' },
      },
    });
    const { mqttPort, tlsPort, websocketPort } = bed.gateway;
    const device = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    for (let i = 0; i < 5; i++) await device.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: T0 + i * 1_000, value: i }), { qos: 1 });
    await device.endAsync();

    // A plain request on the WebSocket port is answered, not left to Node's 5-minute request timeout.
    expect(await Promise.race([httpGet(websocketPort!, '/'), sleep(2_000)])).toEqual({ status: 426, upgrade: 'websocket' });
    await rawConnection(mqttPort); // no CONNECT yet: aedes would wait 30 s for it
    await rawConnection(tlsPort!); // no ClientHello yet: Node would wait 120 s for the handshake
    await rawConnection(websocketPort!, 'GET /mqtt HTTP/1.1\r\nHost: gateway\r\n'); // headers not finished
    const slowClient = mqttConnect(`mqtt://127.0.0.1:${mqttPort}`, { username: 'slow-plc', password: 'slow-password', reconnectPeriod: 0 });
    slowClient.on('error', () => {});
    // Its CONNECT goes out with the connection; once the broker has read it, the password check runs.
    await new Promise<void>((resolve) => (slowClient.stream as Socket).once('connect', () => resolve()));
    await sleep(100);

    const startedAt = Date.now();
    expect(await Promise.race([bed.gateway.stop().then(() => 'stopped'), sleep(5_000)])).toBe('stopped');
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    slowClient.end(true);

    // The shutdown checkpoint was written: after a restart the window fills on and goes out again, complete.
    await bed.restartGateway();
    expect(await metricValue(bed.gateway, 'pdm_gateway_checkpoint_restored_open_windows')).toBe(1);
    const device2 = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
    for (let i = 5; i < 10; i++) await device2.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: T0 + i * 1_000, value: i }), { qos: 1 });
    await device2.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: T0 + 12_500, value: 0 }), { qos: 1 }); // the watermark closes [0, 10 s)
    await device2.endAsync();
    await bed.waitForWindows(2);
    // By hand: values 0..4 → mean 2; values 0..9 → mean 4.5.
    expect(bed.windows().map(summary)).toEqual([
      [0, 0, CloseReason.SHUTDOWN, 5, 2],
      [0, 1, CloseReason.WATERMARK, 10, 4.5],
    ]);
  });

  /** The next HTTP response on a raw connection: its status and body, as sent (the endpoint sends chunked bodies). */
  const nextResponse = (socket: Socket) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString();
        if (!text.endsWith('\r\n0\r\n\r\n')) return; // the last chunk
        socket.off('data', onData);
        resolve({ status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
      };
      socket.on('data', onData);
    });

  it('answers /readyz 503 "stopping" from the moment stop begins, and closes its endpoint before the outbox it reads', async () => {
    bed = await startGatewayTestbed();
    const { httpPort } = bed.gateway;
    const readyz = `http://127.0.0.1:${httpPort}/readyz`;
    expect((await fetch(readyz)).status).toBe(200);
    // A request whose body has not all arrived keeps its connection open through the endpoint's close;
    // the next request on it is answered then.
    const held = await rawConnection(httpPort, 'POST /healthz HTTP/1.1\r\nHost: gateway\r\nContent-Length: 5\r\n\r\n');
    expect(await nextResponse(held)).toMatchObject({ status: 200, body: expect.stringContaining('{"status":"ok"}') as string });

    // Pub/Sub unavailable: the shutdown partial stays in flight and the stop waits for it up to
    // shutdownTimeoutMs on the gateway clock, so the test decides when the stop goes on.
    const device = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
    await device.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: T0 + 500, value: 5 }), { qos: 1 });
    await device.endAsync();
    bed.pubsub.emulator.failNext('Publish', 1_000, status.UNAVAILABLE);
    const stopped = bed.gateway.stop();

    const answer = await fetch(readyz);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ ready: false, checks: { gateway: { ok: false, detail: 'stopping' } } });
    expect(await Promise.race([stopped.then(() => 'stopped'), sleep(200)])).toBe('timed out'); // still waiting for Pub/Sub

    bed.clock.advance(bed.gateway.config.shutdownTimeoutMs);
    bed.pubsub.emulator.clearFaults();
    // The endpoint closes: new connections are refused; the held one still gets an answer, read from
    // an outbox that is still open.
    await until(async () => (await fetch(readyz).then(() => 'answered', () => 'refused')) === 'refused', 'the endpoint closing');
    held.write('12345GET /readyz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    const last = await Promise.race([nextResponse(held), sleep(2_000)]);
    expect(last).toMatchObject({ status: 503, body: expect.stringContaining('"gateway":{"ok":false,"detail":"stopping"}') as string });
    expect(last).toMatchObject({ body: expect.stringContaining('"outbox":{"ok":true,') as string });
    held.end();
    await stopped;
  });
});
