import { CloseReason, MachineWindowSchema, toBinary } from '@pdm/proto';
import type { MachineWindow } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { Moments } from './moments.js';
import { statisticsOf } from './sensor-stats.js';
import { harness, T0 } from './test-support/engine-harness.js';
import { seededRandom } from './test-support/two-pass.js';

interface Reading {
  sensor: string;
  ts: number;
  value: number;
}

/** Readings of sensors a and b over 90 s with a 30 s gap, arriving up to 1 s out of order. */
function jitteredReadings(seed: number): Reading[] {
  const random = seededRandom(seed);
  const readings: Reading[] = [];
  for (let t = 0; t < 90_000; t += 1 + random() * 400) {
    if (t > 30_000 && t < 60_000) continue;
    readings.push({ sensor: random() < 0.5 ? 'a' : 'b', ts: T0 + t, value: 50 + 10 * random() ** 3 });
  }
  const arrival = readings.map((r) => ({ r, at: r.ts + random() * 1_000 }));
  return arrival.sort((x, y) => x.at - y.at).map((x) => x.r);
}

function bytes(windows: MachineWindow[]): string {
  return windows.map((w) => Buffer.from(toBinary(MachineWindowSchema, w)).toString('hex')).join('|');
}

describe('hopping windows', () => {
  it('merged from panes, equal a direct computation over the readings of each window', () => {
    const readings = jitteredReadings(5);
    const { engine, windows } = harness({ windowMs: 10_000, hopMs: 2_000 });
    for (const r of readings) expect(engine.add('m1', r.sensor, r.ts, r.value)).toBe('accepted');
    engine.flush();

    const starts = windows.map((w) => Number(w.windowStart));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    const expectedStarts = new Set<number>();
    for (const r of readings) {
      const lastStart = Math.floor(r.ts / 2_000) * 2_000;
      for (let s = lastStart; s > r.ts - 10_000; s -= 2_000) expectedStarts.add(s);
    }
    expect(starts).toEqual([...expectedStarts].sort((a, b) => a - b));

    for (const w of windows) {
      expect(Number(w.windowEnd - w.windowStart)).toBe(10_000);
      for (const s of w.sensors) {
        const direct = new Moments();
        for (const r of readings) {
          if (r.sensor === s.sensorId && r.ts >= Number(w.windowStart) && r.ts < Number(w.windowEnd)) direct.add(r.value);
        }
        const expected = statisticsOf(direct);
        expect(s.count).toBe(expected.count);
        expect([s.min, s.max]).toEqual([expected.min, expected.max]);
        for (const key of ['mean', 'variance', 'rms', 'skewness', 'kurtosis', 'crestFactor'] as const) {
          expect(Math.abs(s[key] - expected[key]), key).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected[key])));
        }
      }
    }
  });

  it('with hop = window size is exactly the tumbling engine', () => {
    const readings = jitteredReadings(9);
    const hopping = harness({ windowMs: 10_000, hopMs: 10_000 });
    const tumbling = harness({ windowMs: 10_000 });
    for (const r of readings) {
      hopping.engine.add('m1', r.sensor, r.ts, r.value);
      tumbling.engine.add('m1', r.sensor, r.ts, r.value);
    }
    hopping.engine.flush();
    tumbling.engine.flush();
    expect(bytes(hopping.windows)).toBe(bytes(tumbling.windows));
  });
});

describe('determinism', () => {
  it('gives identical bytes for the same input, whatever the interleaving of sensors', () => {
    const readings = jitteredReadings(21).sort((x, y) => x.ts - y.ts);
    const sensorsFirstB = [...readings.filter((r) => r.sensor === 'b'), ...readings.filter((r) => r.sensor === 'a')];
    const runs = [readings, readings, sensorsFirstB].map((input) => {
      // Lateness larger than the whole span, so arrival order cannot change which readings are late.
      const { engine, windows } = harness({ allowedLatenessMs: 100_000 });
      for (const r of input) engine.add('m1', r.sensor, r.ts, r.value);
      engine.flush();
      return bytes(windows);
    });
    expect(runs[0]?.length).toBeGreaterThan(0);
    expect(runs[1]).toBe(runs[0]);
    expect(runs[2]).toBe(runs[0]);
  });

  // Only expected_count may differ: a block declares its rate through hz, single readings learn theirs.
  const strip = (ws: MachineWindow[]) => ws.map((w) => ({ ...w, sensors: w.sensors.map((s) => ({ ...s, expectedCount: 0 })) }));

  it('a block gives the same windows as its samples added one by one', () => {
    const random = seededRandom(2);
    const values = Array.from({ length: 2_500 }, () => random() - 0.5);
    const startTs = T0 + 3_333.3;
    const hz = 97;
    const block = harness();
    const single = harness();
    expect(block.engine.addBlock('m1', 'vib', startTs, hz, values).accepted).toBe(values.length);
    values.forEach((v, i) => single.engine.add('m1', 'vib', startTs + (i * 1000) / hz, v));
    for (const h of [block, single]) h.engine.flush();
    expect(block.windows.length).toBeGreaterThan(2);
    expect(strip(block.windows)).toEqual(strip(single.windows));
  });

  it('a block ending in non-finite samples moves event time only as far as its last finite one, as its samples one by one do', () => {
    // 1 Hz from 8 s: the finite samples at 8 s and 9 s; the ones at 10, 11 and 12 s are no readings
    // and must not bring the watermark (lateness 2 s) to 10 s, closing [0, 10 s).
    const values = [1, 2, NaN, Infinity, NaN];
    const block = harness();
    const single = harness();
    expect(block.engine.addBlock('m1', 's', T0 + 8_000, 1, values)).toEqual({ accepted: 2, late: 0, tooLate: 0, invalid: 3 });
    values.forEach((v, i) => single.engine.add('m1', 's', T0 + 8_000 + i * 1_000, v));
    for (const h of [block, single]) {
      expect(h.windows).toEqual([]);
      expect(h.engine.add('m1', 's', T0 + 9_500, 3)).toBe('accepted'); // on time: [0, 10 s) is open
      h.engine.flush();
    }
    expect(block.windows.map((w) => [w.closeReason, w.sensors[0]?.count, w.sensors[0]?.mean])).toEqual([[CloseReason.SHUTDOWN, 3, 2]]); // 1, 2, 3
    expect(strip(block.windows)).toEqual(strip(single.windows));
  });
});
