// What the sink counts as lost when a gateway goes away for good, against real aedes brokers.
import { ManualClock } from '@pdm/clock';
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

  it('gives up on what a gone gateway never took exactly when its clock reaches the bound', async () => {
    const gone = await startTestBroker();
    const clock = new ManualClock(0);
    const sink = await MqttSink.connect({ urls: [gone.url], qos: 1, reconnectPeriodMs: 20 }, clock);
    await gone.close();
    await expect.poll(() => sink.counters.errors).toBeGreaterThan(0);
    for (let i = 0; i < 2; i++) sink.send({ topic: 'sensors/m0/speed', payload: `{"ts":${i},"value":1}`, machineIndex: 0 });
    let closed = false;
    const closing = sink.close(60_000).then(() => (closed = true));
    clock.advance(59_999);
    // Real time passing must not end the wait: only the injected clock does.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    clock.advance(1);
    await closing;
    expect(sink.counters).toMatchObject({ messages: 2, lost: 2 });
  });
});
