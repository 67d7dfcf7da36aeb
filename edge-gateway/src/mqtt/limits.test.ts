// Limits at the door, with real MQTT clients against the running gateway: the broker's maximum
// packet size (CONNECT included), the caps on machine and sensor ids, and QoS 1 redeliveries.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { type Packet, generate, parser as mqttParser } from 'mqtt-packet';
import { WebSocket } from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';
import { hashPassword } from './index.js';

const MAX_PAYLOAD = 4_096;
const MAX_PACKET = 100_000;

/** A raw TCP connection to the broker, and a promise of its end (resolves with the bytes the client could write). */
async function rawConnection(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connectTcp(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const closed = new Promise<void>((resolve) => socket.on('error', () => {}).once('close', () => resolve()));
  return { socket, closed };
}

/**
 * Waits until `read` gives `expected` (the broker counts a refusal as the connection ends, not before
 * the client notices). No deadline of its own: the test's timeout ends a wait that never succeeds.
 */
async function eventually(read: () => Promise<number>, expected: number): Promise<void> {
  while ((await read()) !== expected) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('retained publishes', () => {
  it('are ingested as readings but never kept for later subscribers, refused ones neither', async () => {
    const bed = await startGatewayTestbed({ mqtt: { anonymous: { publish: ['sensors/#'], subscribe: ['sensors/#'] } } });
    try {
      const sensor = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
      await sensor.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: T0, value: 1 }), { qos: 1, retain: true });
      await sensor.publishAsync('sensors/not/a/reading', 'x'.repeat(1_000), { qos: 1, retain: true });
      await sensor.endAsync();
      expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(1);
      expect(await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="bad_topic"')).toBe(1);

      const later = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
      const received: string[] = [];
      later.on('message', (topic) => received.push(topic));
      await later.subscribeAsync('sensors/#', { qos: 1 });
      // A retained message comes right after the SUBACK; a live one proves the subscription works.
      const live = new Promise<void>((resolve) => later.on('message', (topic) => topic === 'sensors/pump-2/temp' && resolve()));
      const probe = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
      await probe.publishAsync('sensors/pump-2/temp', JSON.stringify({ ts: T0, value: 2 }), { qos: 1 });
      await live;
      await Promise.all([probe.endAsync(), later.endAsync()]);
      expect(received).toEqual(['sensors/pump-2/temp']);
    } finally {
      await bed.close();
    }
  });
});

describe('the broker’s maximum packet size', () => {
  let bed: GatewayTestbed;
  beforeEach(async () => {
    bed = await startGatewayTestbed({ validation: { maxPayloadBytes: MAX_PAYLOAD }, mqtt: { maxPacketBytes: MAX_PACKET } });
  });
  afterEach(() => bed.close());
  const refused = () => metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="packet_too_large"');

  it('closes a connection whose CONNECT header announces 256 MB, without waiting for the body', async () => {
    const { socket, closed } = await rawConnection(bed.gateway.mqttPort);
    // CONNECT with the largest remaining length MQTT can encode (0xFF 0xFF 0xFF 0x7F = 268,435,455), and no body.
    socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
    // Without the limit the broker waits for the body until its 30 s connect timeout, and counts no
    // refusal; with it, the refusal is counted before the connection is closed.
    await closed;
    expect(await refused()).toBe(1);
  });

  it('refuses a CONNECT whose will message is over the limit, before authentication', async () => {
    const will = { topic: 'sensors/pump-1/status', payload: Buffer.alloc(MAX_PACKET, 'w'), qos: 0 as const, retain: false };
    await expect(connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5_000, will })).rejects.toThrow();
    await eventually(refused, 1);
    expect(bed.gateway.engine.metrics().machines).toBe(0);
  });

  it('disconnects a client whose PUBLISH is over the limit; a payload between the two limits is refused as too_large and the client stays', async () => {
    const client = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
    await client.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: T0, value: 1, pad: 'x'.repeat(MAX_PAYLOAD) }), { qos: 1 });
    expect(await metricValue(bed.gateway, 'pdm_gateway_rejected_total', 'reason="too_large"')).toBe(1);
    expect(client.connected).toBe(true);

    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('sensors/pump-1/temp', JSON.stringify({ ts: T0, value: 2, pad: 'x'.repeat(MAX_PACKET) }), { qos: 1 });
    await closed;
    expect(await refused()).toBe(1);
    client.end(true);

    // Other clients are not affected.
    const next = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
    await next.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: T0, value: 3 }), { qos: 1 });
    await next.endAsync();
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(1);
  });

  it('costs an acknowledged publish no extra round trip: a PUBACK still leaves as one segment', async () => {
    const client = await rawClient(bed.gateway.mqttPort, 'device-1');
    for (let id = 1; id <= 100; id++) {
      client.publish(id, 'sensors/pump-1/temp', { ts: T0, value: id }, false);
      await client.waitFor('puback', id);
    }
    await client.close();
    // Written in pieces, a PUBACK's first piece leaves at once and Nagle holds the rest for the
    // client's delayed ACK (~40 ms a publish). Whole, each of them (and the CONNACK) arrives as one
    // 4-byte read of the client's socket.
    expect(client.reads).toEqual(Array.from({ length: 101 }, () => 4));
  });

  it('refuses an oversized packet over WebSocket too, from the frame header', async () => {
    await bed.restartGateway({ mqtt: { websocket: { port: 0 } } });
    const client = await connectAsync(`ws://127.0.0.1:${bed.gateway.websocketPort}/mqtt`, { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('sensors/pump-1/temp', JSON.stringify({ ts: T0, value: 2, pad: 'x'.repeat(MAX_PACKET) }), { qos: 1 });
    await closed;
    client.end(true);
    await eventually(refused, 1);

    // A whole CONNECT in one WebSocket message: ws refuses the message from its frame header.
    const raw = new WebSocket(`ws://127.0.0.1:${bed.gateway.websocketPort}/mqtt`, 'mqtt');
    await new Promise((resolve, reject) => raw.once('open', resolve).once('error', reject));
    // Remaining length 100,000 = 0xA0 0x8D 0x06 (32 + 13·128 + 6·128²), then the body.
    raw.send(Buffer.concat([Buffer.from([0x10, 0xa0, 0x8d, 0x06]), Buffer.alloc(100_000)]));
    await new Promise((resolve) => raw.once('close', resolve));
    await eventually(refused, 2);
  });

  it('refuses an oversized message from mosquitto_pub too', async () => {
    const file = join(bed.dataDir, 'big.json');
    writeFileSync(file, JSON.stringify({ ts: T0, value: 1, pad: 'x'.repeat(2 * MAX_PACKET) }));
    const args = ['-h', '127.0.0.1', '-p', String(bed.gateway.mqttPort), '-t', 'sensors/pump-1/temp', '-q', '1', '-f', file];
    await new Promise<void>((resolve) => execFile('mosquitto_pub', args, { timeout: 10_000 }, () => resolve()));
    await eventually(refused, 1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(0);
  });
});

describe('the caps on machine and sensor ids', () => {
  let bed: GatewayTestbed;
  beforeEach(async () => {
    bed = await startGatewayTestbed({ validation: { maxMachines: 2, maxSensorsPerMachine: 2 } });
  });
  afterEach(() => bed.close());
  const rejected = (reason: string) => metricValue(bed.gateway, 'pdm_gateway_rejected_total', `reason="${reason}"`);

  it('refuses new ids beyond the caps without creating state, keeps known ones, and frees a place when the engine forgets a machine', async () => {
    const client = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
    const send = (topic: string, value: number) => client.publishAsync(topic, JSON.stringify({ ts: T0 + 1_000, value }), { qos: 1 });
    await send('sensors/m1/a', 1);
    await send('sensors/m2/a', 2);
    // A flood of new machine ids: every one refused, none held.
    for (let i = 0; i < 200; i++) await send(`sensors/flood-${i}/a`, 3);
    await send('sensors/m1/b', 4);
    await send('sensors/m1/c', 5);
    await send('sensors/m1/a', 6);
    expect(await rejected('too_many_machines')).toBe(200);
    expect(await rejected('too_many_sensors')).toBe(1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(4);
    expect(bed.gateway.engine.metrics()).toMatchObject({ machines: 2, sensors: 3 });

    // Ten silent minutes (windows.evictAfterMs): the idle windows close, and once the checkpoint that
    // holds their frontier is taken (outbox.checkpointIntervalMs, 1 s) the engine forgets both machines.
    bed.clock.advance(600_000);
    bed.gateway.tick();
    bed.clock.advance(1_000);
    bed.gateway.tick();
    expect(bed.gateway.engine.metrics()).toMatchObject({ machines: 0, sensors: 0 });
    await client.publishAsync('sensors/m3/a', JSON.stringify({ ts: T0 + 601_000, value: 7 }), { qos: 1 });
    expect(await rejected('too_many_machines')).toBe(200);
    await client.endAsync();

    await bed.gateway.stop();
    await bed.waitForWindows(3);
    const windows = bed.windows();
    expect(windows.map((w) => w.machineId).sort()).toEqual(['m1', 'm2', 'm3']);
    const m1 = windows.find((w) => w.machineId === 'm1')!;
    expect(m1.sensors.map((s) => [s.sensorId, s.count, s.mean])).toEqual([
      ['a', 2, 3.5],
      ['b', 1, 4],
    ]);
  });

  it('caps the machines each user creates, when validation.maxMachinesPerUser is set', async () => {
    const usersFile = join(bed.dataDir, 'users.yaml');
    const hash = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    writeFileSync(usersFile, ['users:', '  - username: line-a', `    passwordHash: "${hash}"`, '  - username: line-b', `    passwordHash: "${hash}"`].join('\n'));
    await bed.restartGateway({ mqtt: { usersFile }, validation: { maxMachines: 10, maxMachinesPerUser: 1 } });
    const url = `mqtt://127.0.0.1:${bed.gateway.mqttPort}`;
    const [a, b] = await Promise.all([connectAsync(url, { username: 'line-a', password: 'pw' }), connectAsync(url, { username: 'line-b', password: 'pw' })]);
    const reading = JSON.stringify({ ts: T0, value: 1 });
    await a.publishAsync('sensors/a1/s', reading, { qos: 1 });
    await a.publishAsync('sensors/a2/s', reading, { qos: 1 }); // line-a's second machine: refused
    await b.publishAsync('sensors/b1/s', reading, { qos: 1 });
    await b.publishAsync('sensors/a1/s', reading, { qos: 1 }); // a machine that exists takes anyone's readings
    await Promise.all([a.endAsync(), b.endAsync()]);
    expect(await rejected('too_many_machines')).toBe(1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(3);
    expect(bed.gateway.engine.metrics().machines).toBe(2);
  });
});

/**
 * A raw MQTT 3.1.1 client: sends packets mqtt-packet builds, collects what the broker answers and the
 * size of each read of its socket.
 */
async function rawClient(port: number, clientId: string) {
  const { socket, closed } = await rawConnection(port);
  const received: Packet[] = [];
  const reads: number[] = [];
  const parser = mqttParser();
  const count = (cmd: Packet['cmd']) => received.filter((p) => p.cmd === cmd).length;
  let onPacket = () => {};
  parser.on('packet', (packet: Packet) => {
    received.push(packet);
    onPacket();
  });
  socket.on('data', (chunk: Buffer) => {
    reads.push(chunk.length);
    parser.parse(chunk);
  });
  /** Resolves once `n` packets of kind `cmd` have arrived; the test's timeout ends a wait that never does. */
  const waitFor = (cmd: Packet['cmd'], n: number) =>
    new Promise<void>((resolve) => {
      onPacket = () => {
        if (count(cmd) >= n) resolve();
      };
      onPacket();
    });
  socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 60 }));
  await waitFor('connack', 1);
  return {
    publish: (messageId: number, topic: string, body: unknown, dup: boolean) =>
      socket.write(generate({ cmd: 'publish', messageId, topic, payload: Buffer.from(JSON.stringify(body)), qos: 1, dup, retain: false })),
    waitFor,
    reads,
    /** Ends the connection; resolves once it is closed. */
    close: () => {
      socket.end();
      return closed;
    },
  };
}

describe('QoS 1 redeliveries', () => {
  let bed: GatewayTestbed;
  beforeEach(async () => {
    bed = await startGatewayTestbed();
  });
  afterEach(() => bed.close());

  it('ingests a PUBLISH sent again with DUP once, on the same connection or after a reconnect; a reused packet id with new content is new', async () => {
    const topic = 'sensors/dup-1/temp';
    const first = await rawClient(bed.gateway.mqttPort, 'device-1');
    first.publish(1, topic, { ts: T0 + 1_000, value: 1 }, false);
    first.publish(1, topic, { ts: T0 + 1_000, value: 1 }, true); // PUBACK lost: sent again
    first.publish(1, topic, { ts: T0 + 1_000, value: 1 }, true); // and again
    first.publish(2, topic, { ts: T0 + 2_000, value: 2 }, false);
    first.publish(2, topic, { ts: T0 + 2_000, value: 2 }, true);
    // Packet id 1 was acknowledged, so it may be reused; this message's first copy never arrived.
    first.publish(1, topic, { ts: T0 + 3_000, value: 3 }, true);
    await first.waitFor('puback', 6);
    await first.close();

    // The same client id after a reconnect repeats what it had not seen acknowledged.
    const again = await rawClient(bed.gateway.mqttPort, 'device-1');
    again.publish(2, topic, { ts: T0 + 2_000, value: 2 }, true);
    await again.waitFor('puback', 1);
    await again.close();
    // Another client sending the same bytes under the same packet id is not repeating anything.
    const other = await rawClient(bed.gateway.mqttPort, 'device-2');
    other.publish(2, topic, { ts: T0 + 2_000, value: 2 }, true);
    await other.waitFor('puback', 1);
    await other.close();

    expect(await metricValue(bed.gateway, 'pdm_gateway_mqtt_redeliveries_total')).toBe(4);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(4);
    await bed.gateway.stop();
    await bed.collector.waitFor(1);
    // Readings 1, 2 and 3 of device-1 and device-2's 2: four, mean (1 + 2 + 3 + 2) / 4 = 2.
    expect(bed.windows()[0]?.sensors[0]).toMatchObject({ sensorId: 'temp', count: 4, mean: 2, min: 1, max: 3 });
  });

  /** One connection of `clientId` that publishes `body` as packet id 1 and ends once it has the PUBACK. */
  async function publishOnce(clientId: string, topic: string, body: unknown, dup: boolean): Promise<void> {
    const client = await rawClient(bed.gateway.mqttPort, clientId);
    client.publish(1, topic, body, dup);
    await client.waitFor('puback', 1);
    await client.close();
  }

  it('remembers as many clients as the gateway holds machines (validation.maxMachines), the least recently publishing forgotten first', async () => {
    await bed.restartGateway({ validation: { maxMachines: 2 } });
    const reading = { ts: T0 + 1_000, value: 1 };
    await publishOnce('device-1', 'sensors/m-1/temp', reading, false);
    await publishOnce('device-2', 'sensors/m-2/temp', reading, false);
    await publishOnce('device-2', 'sensors/m-2/temp', reading, true); // remembered: a repeat
    await publishOnce('device-3', 'sensors/m-1/temp', reading, false); // a third client: device-1 is forgotten
    await publishOnce('device-1', 'sensors/m-1/temp', reading, true);
    expect(await metricValue(bed.gateway, 'pdm_gateway_mqtt_redeliveries_total')).toBe(1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(4);
  });

  it('remembers mqtt.rememberedClients clients when set, and counts a connected one forgotten for want of room', async () => {
    await bed.restartGateway({ mqtt: { rememberedClients: 1 } });
    const url = `mqtt://127.0.0.1:${bed.gateway.mqttPort}`;
    const [first, second] = await Promise.all(['node-1', 'node-2'].map((clientId) => connectAsync(url, { clientId, reconnectPeriod: 0 })));
    await first!.publishAsync('sensors/m-1/temp', JSON.stringify({ ts: T0 + 1_000, value: 1 }), { qos: 1 });
    await second!.publishAsync('sensors/m-1/vib', JSON.stringify({ ts: T0 + 1_000, value: 2 }), { qos: 1 });
    expect(await metricValue(bed.gateway, 'pdm_gateway_mqtt_redelivery_memory_full_total')).toBe(1);
    await Promise.all([first!.endAsync(), second!.endAsync()]);
  });

  it('forgets a client five minutes after it disconnected: a repeat sent later is ingested as new', async () => {
    const topic = 'sensors/dup-1/temp';
    await publishOnce('device-1', topic, { ts: T0 + 1_000, value: 1 }, false);
    bed.clock.advance(5 * 60_000 - 1);
    await publishOnce('device-1', topic, { ts: T0 + 1_000, value: 1 }, true); // back in time: a repeat
    bed.clock.advance(5 * 60_000);
    await publishOnce('device-2', topic, { ts: T0 + 600_000, value: 2 }, false); // the gateway forgets device-1 as it goes
    await publishOnce('device-1', topic, { ts: T0 + 600_000, value: 1 }, true);
    expect(await metricValue(bed.gateway, 'pdm_gateway_mqtt_redeliveries_total')).toBe(1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(3);
  });
});
