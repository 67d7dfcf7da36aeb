// What the bridge answers an upstream, packet by packet, against a scripted broker (mqtt-packet on a
// TCP socket): it asks for a persistent session, subscribes at QoS 1, acknowledges every QoS 1 message
// (refused ones too, or the broker would send them forever), and ingests a repeat (DUP, same id, topic
// and payload) once — while a DUP with other content under a reused id is a new message, and so is one
// under an id reused since the publish with its bytes — and republishes what it refuses on the debug
// topic, like the embedded broker's refusals.
import { once } from 'node:events';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { type IConnectPacket, type Packet, generate, parser as mqttParser } from 'mqtt-packet';
import { connectAsync } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from '../test-support/gateway-harness.js';

interface ScriptedBroker {
  readonly port: number;
  readonly connect: Promise<IConnectPacket>;
  readonly subscriptions: Promise<Array<{ topic: string; qos: number }>>;
  readonly pubacks: number[];
  /** SUBSCRIBE packets received so far. */
  readonly subscribes: () => number;
  /** Answers the next `count` SUBSCRIBEs with 0x80 (refused) for every filter. */
  refuseSubscribes(count: number): void;
  publish(messageId: number, payload: string, dup?: boolean): void;
  /** Drops the connection; at the next CONNACK, sends these messages (DUP) in the same write, as a broker resends its unacknowledged ones. */
  dropAndResend(messages: ReadonlyArray<[messageId: number, payload: string]>): void;
  close(): Promise<void>;
}

const publishPacket = (messageId: number, payload: string, dup: boolean) =>
  generate({ cmd: 'publish', qos: 1, dup, retain: false, messageId, topic: 'plant/press-1/temp', payload: Buffer.from(payload) });

async function startScriptedBroker(): Promise<ScriptedBroker> {
  const pubacks: number[] = [];
  let socket: Socket | undefined;
  let subscribes = 0;
  let refuse = 0;
  let repeatAfterConnack: Buffer | undefined;
  let connected!: (packet: IConnectPacket) => void;
  let subscribed!: (subscriptions: Array<{ topic: string; qos: number }>) => void;
  const connect = new Promise<IConnectPacket>((resolve) => (connected = resolve));
  const subscriptions = new Promise<Array<{ topic: string; qos: number }>>((resolve) => (subscribed = resolve));
  const server: Server = createServer((s) => {
    socket = s;
    const parser = mqttParser({ protocolVersion: 4 });
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'connect') {
        // A broker that kept the session resends its unacknowledged messages right after the CONNACK.
        s.write(Buffer.concat([generate({ cmd: 'connack', returnCode: 0, sessionPresent: repeatAfterConnack !== undefined }), repeatAfterConnack ?? Buffer.alloc(0)]));
        repeatAfterConnack = undefined;
        connected(packet);
      } else if (packet.cmd === 'subscribe') {
        subscribes++;
        const refused = refuse > 0;
        if (refused) refuse--;
        s.write(generate({ cmd: 'suback', messageId: packet.messageId!, granted: packet.subscriptions.map(() => (refused ? 128 : 1)) }));
        if (!refused) subscribed(packet.subscriptions.map(({ topic, qos }) => ({ topic, qos })));
      } else if (packet.cmd === 'puback') {
        pubacks.push(packet.messageId!);
      } else if (packet.cmd === 'pingreq') {
        s.write(generate({ cmd: 'pingresp' }));
      }
    });
    s.on('data', (chunk: Buffer) => parser.parse(chunk));
    s.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connect,
    subscriptions,
    pubacks,
    subscribes: () => subscribes,
    refuseSubscribes: (count) => (refuse = count),
    publish: (messageId, payload, dup = false) => socket!.write(publishPacket(messageId, payload, dup)),
    dropAndResend: (messages) => {
      repeatAfterConnack = Buffer.concat(messages.map(([messageId, payload]) => publishPacket(messageId, payload, true)));
      socket!.destroy();
    },
    async close() {
      socket?.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('bridge acknowledgements and repeats', () => {
  let broker: ScriptedBroker;
  let bed: GatewayTestbed;

  beforeEach(async () => {
    broker = await startScriptedBroker();
    bed = await startGatewayTestbed({
      bridge: { upstreams: [{ name: 'plant', url: `mqtt://127.0.0.1:${broker.port}`, mappings: [{ topic: 'plant/{machine}/{sensor}' }] }] },
      validation: { debugTopic: 'pdm/rejected' },
      mqtt: { anonymous: { subscribe: ['pdm/rejected/#'] } },
    });
  });
  afterEach(async () => {
    await bed.close();
    await broker.close();
  });

  const outcome = (name: string) => metricValue(bed.gateway, 'pdm_gateway_bridge_messages_total', `upstream="plant",outcome="${name}"`);

  async function disconnected(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ((await metricValue(bed.gateway, 'pdm_gateway_bridge_connected', 'upstream="plant"')) !== 0) {
      if (Date.now() > deadline) throw new Error('the bridge did not notice the dropped connection');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async function acked(count: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (broker.pubacks.length < count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} PUBACKs, got ${broker.pubacks.length}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('asks again, after its back-off, for a subscription the upstream refused', async () => {
    const refusing = await startScriptedBroker();
    refusing.refuseSubscribes(1); // its ACL not set up yet, say
    const other = await startGatewayTestbed({ bridge: { upstreams: [{ name: 'plant', url: `mqtt://127.0.0.1:${refusing.port}`, mappings: [{ topic: 'plant/{machine}/{sensor}' }] }] } });
    const connected = () => metricValue(other.gateway, 'pdm_gateway_bridge_connected', 'upstream="plant"');
    const waitFor = async (what: string, done: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    try {
      await waitFor('the first SUBSCRIBE', () => refusing.subscribes() === 1);
      await new Promise((resolve) => setTimeout(resolve, 100)); // its refusal answered
      expect(await connected()).toBe(0);
      expect(refusing.subscribes()).toBe(1);
      other.clock.advance(1_000); // the upstream's first back-off (1 s, less up to 20 % jitter)
      expect(await refusing.subscriptions).toEqual([{ topic: 'plant/+/+', qos: 1 }]);
      expect(refusing.subscribes()).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 50)); // the SUBACK handled
      expect(await connected()).toBe(1);
    } finally {
      await other.close();
      await refusing.close();
    }
  });

  it('asks for a persistent session under a stable client id and subscribes at QoS 1', async () => {
    const connect = await broker.connect;
    expect(connect).toMatchObject({ clientId: 'pdm-gw-test-plant', clean: false, protocolVersion: 4 });
    expect(await broker.subscriptions).toEqual([{ topic: 'plant/+/+', qos: 1 }]);
  });

  it('acknowledges every message, ingests a repeat once, and a DUP with other content under a reused id as new', async () => {
    await broker.subscriptions;
    broker.publish(1, JSON.stringify({ value: 10, ts: T0 }));
    broker.publish(1, JSON.stringify({ value: 10, ts: T0 }), true); // the PUBACK "got lost": sent again
    broker.publish(2, '{"value": oops'); // refused, but acknowledged
    broker.publish(1, JSON.stringify({ value: 20, ts: T0 + 1_000 }), true); // id 1 reused; its first copy was lost
    await acked(4);
    expect(broker.pubacks).toEqual([1, 1, 2, 1]);
    expect(await outcome('ingested')).toBe(2);
    expect(await outcome('redelivered')).toBe(1);
    expect(await outcome('bad_json')).toBe(1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(2);
  });

  it('ingests a repeat once however long the upstream was away: a plant broker keeps the session, and its unacknowledged messages, indefinitely', async () => {
    await broker.subscriptions;
    const message = JSON.stringify({ value: 10, ts: T0 });
    broker.publish(1, message);
    await acked(1);
    broker.dropAndResend([[1, message]]); // the PUBACK "was lost" with the connection
    await disconnected();
    bed.clock.advance(10 * 60_000); // away 10 minutes (an embedded broker's client is forgotten after 5); the retry reconnects
    await acked(2);
    expect(broker.pubacks).toEqual([1, 1]);
    expect(await outcome('ingested')).toBe(1);
    expect(await outcome('redelivered')).toBe(1);
    expect(await metricValue(bed.gateway, 'pdm_gateway_readings_total')).toBe(1);
  });

  it('ingests the new messages a broker resends under packet ids reused since, though a publish long acknowledged had their bytes', async () => {
    await broker.subscriptions;
    // Plain numbers, read at gateway time: equal bytes may be two readings.
    broker.publish(1, '5');
    broker.publish(2, '4'); // id 1 not yet acknowledged when the broker sent this one
    await acked(2);
    broker.publish(1, '6'); // id 1 free again: HiveMQ takes the lowest free packet id
    broker.publish(3, '9');
    await acked(4);
    // The connection went half-open: the PUBACK of 3 never arrived, and the broker sent two new
    // messages into it under the free ids 1 and 2. After the reconnect it sends all three again, DUP.
    broker.dropAndResend([
      [3, '9'],
      [1, '8'],
      [2, '4'],
    ]);
    await disconnected();
    bed.clock.advance(1_000); // the upstream's first back-off (1 s, less up to 20 % jitter)
    await acked(7);
    broker.publish(4, JSON.stringify({ value: 0, ts: T0 + 12_500 })); // moves the watermark (2 s lateness) past the first window's end

    const [window] = await bed.waitForWindows(1);
    expect(window).toMatchObject({ machineId: 'press-1', windowStart: BigInt(T0) });
    // 5, 4, 6, 9, then 8 and 4 after the reconnect; the repeat of 9 once.
    expect(window!.sensors.find((s) => s.sensorId === 'temp')).toMatchObject({ count: 6, mean: 6, min: 4, max: 9 });
    expect(broker.pubacks).toEqual([1, 2, 1, 3, 3, 1, 2, 4]);
    expect(await outcome('redelivered')).toBe(1);
  });

  it('republishes a refused message on the debug topic of the embedded broker, with the upstream topic and reason', async () => {
    await broker.subscriptions;
    const debug = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
    try {
      await debug.subscribeAsync('pdm/rejected/#');
      const received = new Promise<{ topic: string; body: { topic: string; reason: string } }>((resolve) =>
        debug.once('message', (topic, payload) => resolve({ topic, body: JSON.parse(payload.toString()) as never })),
      );
      broker.publish(3, '{"value": oops');
      const { topic, body } = await received;
      expect(topic).toBe('pdm/rejected/bad_json');
      expect(body).toMatchObject({ topic: 'plant/press-1/temp', reason: 'bad_json' });
    } finally {
      await debug.endAsync();
    }
  });
});
