// What the sink counts as lost when a gateway goes away for good, against real aedes brokers.
import { afterEach, describe, expect, it } from 'vitest';
import { type TestBroker, startTestBroker } from '../test-support/broker.js';
import { MqttSink } from './mqtt-sink.js';

const brokers: TestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

describe('MqttSink.close', () => {
  it.each([0, 1] as const)('QoS %i: what a gateway that went away never took counts as lost, the rest does not', async (qos) => {
    const [up, gone] = [await startTestBroker(), await startTestBroker()];
    brokers.push(up);
    // Machine index 0 publishes to `up`, 1 to `gone`.
    const sink = await MqttSink.connect({ urls: [up.url, gone.url], qos, reconnectPeriodMs: 20 });
    await gone.close();
    // Reconnecting to the closed port fails: the sink knows that connection is down.
    await expect.poll(() => sink.counters.errors).toBeGreaterThan(0);
    for (let i = 0; i < 6; i++) sink.send({ topic: `sensors/m${i % 2}/speed`, payload: `{"ts":${i},"value":1}`, machineIndex: i % 2 });
    await up.waitFor(3);
    await sink.close(500);
    expect(sink.counters).toMatchObject({ messages: 6, lost: 3 });
    expect(up.received.map((m) => m.topic)).toEqual(['sensors/m0/speed', 'sensors/m0/speed', 'sensors/m0/speed']);
  });
});
