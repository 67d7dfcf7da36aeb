// A real aedes broker on a free loopback port and a real mqtt.js subscriber that records every
// message it receives, for tests that measure what the simulator actually put on the wire.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: Buffer;
}

export interface TestBroker {
  url: string;
  received: Received[];
  /** Client connections the broker accepted (the subscriber's included). */
  connections: () => number;
  /** Resolves once `count` messages arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTestBroker(): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  let connections = 0;
  broker.on('client', () => connections++);
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const subscriber: MqttClient = await mqtt.connectAsync(url, { clientId: `test-sub-${process.pid}`, reconnectPeriod: 0 });
  const received: Received[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  subscriber.on('message', (topic, payload) => {
    received.push({ topic, payload });
    if (waiter && received.length >= waiter.count) waiter.resolve();
  });
  await subscriber.subscribeAsync('sensors/#', { qos: 0 });

  return {
    url,
    received,
    connections: () => connections,
    waitFor: (count, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        if (received.length >= count) return resolve();
        const timer = setTimeout(() => {
          waiter = undefined;
          reject(new Error(`received ${received.length} of ${count} messages within ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            waiter = undefined;
            resolve();
          },
        };
      }),
    close: async () => {
      await subscriber.endAsync();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
