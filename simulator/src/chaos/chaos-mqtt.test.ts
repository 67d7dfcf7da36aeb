// Chaos measured on the wire: a real aedes broker and a real mqtt.js subscriber record what the
// simulator actually sent; the same seed without chaos is the reference.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSimulation } from '../run/simulation.js';
import { type Received, type TestBroker, startTestBroker } from '../test-support/broker.js';
import { testConfig } from '../test-support/config.js';
import { BAD_TOPIC_SENSOR, MALFORMED_KINDS, type MalformedKind } from './malformed.js';
import type { ChaosOptions } from './options.js';

let broker: TestBroker;
beforeEach(async () => {
  broker = await startTestBroker();
});
afterEach(async () => {
  await broker.close();
});

const key = (m: Received) => `${m.topic} ${m.payload.toString()}`;
const tsOf = (m: Received) => (JSON.parse(m.payload.toString()) as { ts: number }).ts;

async function run(chaosOver: Partial<ChaosOptions>, qos: 0 | 1 = 0) {
  const before = broker.received.length;
  const result = await runSimulation(testConfig({ chaosOver, mqtt: { urls: [broker.url], qos, format: 'batch', reconnectPeriodMs: 20 } }));
  await broker.waitFor(before + result.messages);
  return { result, received: broker.received.slice(before) };
}

/** Messages that arrived after a newer one on the same topic. */
function arrivedLate(received: readonly Received[]): number {
  const newest = new Map<string, number>();
  let late = 0;
  for (const m of received) {
    const ts = tsOf(m);
    if (ts < (newest.get(m.topic) ?? -Infinity)) late++;
    newest.set(m.topic, Math.max(ts, newest.get(m.topic) ?? -Infinity));
  }
  return late;
}

const sortedKeys = (rs: readonly Received[]) => rs.map(key).sort();

describe('chaos on the wire', () => {
  it('is off by default: messages per topic arrive in time order, once each', async () => {
    const { received } = await run({});
    expect(arrivedLate(received)).toBe(0);
    expect(new Set(received.map(key)).size).toBe(received.length);
  });

  it('late readings: held back by the configured delay, nothing lost or added', async () => {
    const reference = sortedKeys((await run({})).received);
    const { result, received } = await run({
      lateProbability: 0.05,
      lateDelay: { distribution: 'uniform', minMs: 5000, maxMs: 20_000, meanMs: 12_500 },
    });
    const c = result.chaos;
    expect(c.late).toBeGreaterThan(0);
    expect(sortedKeys(received)).toEqual(reference);
    // Every late message lands after newer readings on its topic, except those from the final tick
    // flushed at the end (nothing newer exists on their topic to overtake them).
    const seen = arrivedLate(received);
    expect(seen).toBeLessThanOrEqual(c.late);
    expect(seen).toBeGreaterThanOrEqual(c.late - c.lateFlushedAtEnd);
  });

  it('out-of-order bursts: a machine’s messages over several ticks arrive shuffled', async () => {
    const reference = sortedKeys((await run({})).received);
    const { result, received } = await run({ outOfOrderProbability: 0.05, outOfOrderBurst: 5 });
    expect(result.chaos.reorderedBursts).toBeGreaterThan(0);
    expect(sortedKeys(received)).toEqual(reference);
    const inversions = arrivedLate(received);
    expect(inversions).toBeGreaterThan(0);
    expect(inversions).toBeLessThanOrEqual(result.chaos.reordered);
  });

  it('duplicates: exactly the counted messages arrive twice', async () => {
    const referenceCount = (await run({})).received.length;
    const { result, received } = await run({ duplicateProbability: 0.03 });
    const counts = new Map<string, number>();
    for (const m of received) counts.set(key(m), (counts.get(key(m)) ?? 0) + 1);
    const twice = [...counts.values()].filter((n) => n === 2).length;
    expect(result.chaos.duplicated).toBeGreaterThan(0);
    expect(twice).toBe(result.chaos.duplicated);
    expect(received).toHaveLength(referenceCount + result.chaos.duplicated);
  });

  it('clock skew: each machine’s timestamps are off by its fixed offset', async () => {
    const reference = (await run({})).received;
    const { result, received } = await run({ clockSkewSigmaMs: 2000 });
    const skews = result.chaos.clockSkewMs;
    expect(Object.keys(skews).length).toBeGreaterThan(0);
    expect(received.map((m) => m.topic)).toEqual(reference.map((m) => m.topic));
    received.forEach((m, i) => {
      const machine = m.topic.split('/')[1] ?? '';
      expect(tsOf(m) - tsOf(reference[i] as Received)).toBe(skews[machine] ?? 0);
    });
  });

  it('clock skew of single sensors: only their timestamps are off, each by its own offset', async () => {
    const reference = (await run({})).received;
    const machine = reference[0]?.topic.split('/')[1] ?? '';
    const { received } = await run({ sensorClockSkewMs: { [machine]: { speed: 30_000, vibration: -20_000 } } });
    expect(received.map((m) => m.topic)).toEqual(reference.map((m) => m.topic));
    const offsets = new Map<string, Set<number>>();
    received.forEach((m, i) => offsets.set(m.topic, (offsets.get(m.topic) ?? new Set()).add(tsOf(m) - tsOf(reference[i] as Received))));
    const skewed = [...offsets].filter(([, offset]) => !(offset.size === 1 && offset.has(0)));
    expect(skewed).toEqual([
      [`sensors/${machine}/speed`, new Set([30_000])],
      [`sensors/${machine}/vibration`, new Set([-20_000])],
    ]);
  });

  it('malformed payloads: each kind arrives as often as counted', async () => {
    const { result, received } = await run({ malformedProbability: 0.05 });
    const seen: Record<MalformedKind, number> = { bad_json: 0, nan: 0, wrong_type: 0, bad_topic: 0 };
    for (const m of received) {
      if (m.topic.endsWith(`/${BAD_TOPIC_SENSOR}`)) {
        seen.bad_topic++;
        continue;
      }
      const text = m.payload.toString();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        if (/"value":NaN/.test(text)) seen.nan++;
        else seen.bad_json++;
        continue;
      }
      const b = body as { ts: unknown; value?: unknown; values?: unknown };
      if (typeof b.ts !== 'number' || (b.values === undefined && typeof b.value !== 'number')) seen.wrong_type++;
    }
    for (const kind of MALFORMED_KINDS) expect(result.chaos.malformed[kind]).toBeGreaterThan(0);
    expect(seen).toEqual(result.chaos.malformed);
  });

  it('connection drops: the simulator reconnects and, at QoS 1, every reading still arrives', async () => {
    const reference = new Set((await run({})).received.map(key));
    const connectionsBefore = broker.connections();
    const { result, received } = await run({ dropsPerHour: 600 }, 1);
    expect(result.chaos.drops).toBeGreaterThan(0);
    expect(result.mqtt?.reconnects).toBe(result.chaos.drops);
    expect(broker.connections() - connectionsBefore).toBe(1 + result.chaos.drops);
    const got = new Set(received.map(key));
    expect([...reference].filter((k) => !got.has(k))).toEqual([]);
  });
});
