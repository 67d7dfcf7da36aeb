import { SensorBatchSchema, fromBinary } from '@pdm/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MACHINE_SPECS } from '../fleet/machine-types.js';
import { runSimulation } from '../run/simulation.js';
import { type TestBroker, startTestBroker } from '../test-support/broker.js';
import { testConfig } from '../test-support/config.js';

let broker: TestBroker;
beforeEach(async () => {
  broker = await startTestBroker();
});
afterEach(async () => {
  await broker.close();
});

const TOPIC = /^sensors\/[A-Za-z0-9_.-]{1,64}\/[A-Za-z0-9_.-]{1,64}(\/pb)?$/;

describe('MQTT output', () => {
  it('batch: low-rate JSON singles and one JSON batch per vibration block, every reading delivered', async () => {
    const config = testConfig({ mqtt: { urls: [broker.url], qos: 0, format: 'batch' } });
    const result = await runSimulation(config);
    await broker.waitFor(result.messages);
    expect(broker.received).toHaveLength(result.messages);

    let readings = 0;
    for (const { topic, payload } of broker.received) {
      expect(topic).toMatch(TOPIC);
      const body = JSON.parse(payload.toString()) as { ts: number; value?: number; hz?: number; values?: number[] };
      expect(Number.isInteger(body.ts)).toBe(true);
      if (topic.endsWith('/vibration')) {
        expect(body.hz).toBe(config.vibrationHz);
        expect(body.values).toHaveLength(config.vibrationHz);
        readings += body.values?.length ?? 0;
      } else {
        expect(Number.isFinite(body.value)).toBe(true);
        readings++;
      }
    }
    expect(readings).toBe(result.readings);
    const ticks = config.durationMs / config.tickMs;
    const lowRate = config.machines.reduce((n, m) => n + MACHINE_SPECS[m.type].sensors.length, 0);
    expect(result.messages).toBe(ticks * (lowRate + config.machines.length));
  });

  it('protobuf: pdm.v1.SensorBatch on /pb topics, blocks and readings with int64 times', async () => {
    const config = testConfig({ durationMs: 10_000, mqtt: { urls: [broker.url], qos: 1, format: 'protobuf' } });
    const result = await runSimulation(config);
    await broker.waitFor(result.messages);
    const decoded = broker.received.map((m) => ({ topic: m.topic, batch: fromBinary(SensorBatchSchema, m.payload) }));
    expect(decoded.every((d) => d.topic.endsWith('/pb'))).toBe(true);
    const blocks = decoded.filter((d) => d.batch.body.case === 'block');
    expect(blocks).toHaveLength(config.machines.length * 10);
    const first = blocks[0]?.batch.body;
    expect(first?.case === 'block' && first.value.startTs).toBe(BigInt(config.startMs));
    expect(first?.case === 'block' && first.value.values.length).toBe(config.vibrationHz);
    const single = decoded.find((d) => d.batch.body.case === 'readings')?.batch.body;
    expect(single?.case === 'readings' && single.value.readings[0]?.ts).toBe(BigInt(config.startMs));
  });

  it('json: every reading its own message, vibration samples included', async () => {
    const config = testConfig({ durationMs: 5000, vibrationHz: 20, mqtt: { urls: [broker.url], qos: 0, format: 'json' } });
    const result = await runSimulation(config);
    await broker.waitFor(result.messages);
    expect(result.messages).toBe(result.readings);
    const vib = broker.received.filter((m) => m.topic.endsWith('/vibration'));
    expect(vib).toHaveLength(config.machines.length * 5 * 20);
    const times = vib.slice(0, 20).map((m) => (JSON.parse(m.payload.toString()) as { ts: number }).ts - config.startMs);
    expect(times).toEqual(Array.from({ length: 20 }, (_, i) => i * 50));
  });

  it('spreads machines over several gateway URLs', async () => {
    const second = await startTestBroker();
    try {
      const config = testConfig({ durationMs: 5000, mqtt: { urls: [broker.url, second.url], qos: 0, format: 'batch' } });
      const result = await runSimulation(config);
      await Promise.all([broker.waitFor(1), second.waitFor(1)]);
      const machinesOn = (b: TestBroker) => new Set(b.received.map((m) => m.topic.split('/')[1]));
      await expect
        .poll(() => broker.received.length + second.received.length, { timeout: 10_000 })
        .toBe(result.messages);
      expect([...machinesOn(broker)].sort()).toEqual([config.machines[0]?.id, config.machines[2]?.id].sort());
      expect([...machinesOn(second)].sort()).toEqual([config.machines[1]?.id, config.machines[3]?.id].sort());
    } finally {
      await second.close();
    }
  });

  it('fails clearly when the gateway is unreachable', async () => {
    const config = testConfig({ mqtt: { urls: ['mqtt://127.0.0.1:1'], qos: 0, format: 'batch' } });
    await expect(runSimulation(config)).rejects.toThrow(/cannot connect to MQTT mqtt:\/\/127\.0\.0\.1:1/);
  });
});
