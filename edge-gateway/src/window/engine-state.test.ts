import { CloseReason } from '@pdm/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { harness, T0 } from './test-support/engine-harness.js';

function expectedCounts(windows: { sensors: { sensorId: string; expectedCount: number }[] }[]) {
  return windows.map((w) => Object.fromEntries(w.sensors.map((s) => [s.sensorId, s.expectedCount])));
}

describe('completeness: expected_count', () => {
  it('comes from the declared rate, per machine/sensor before per sensor', () => {
    const { engine, windows } = harness({ sensorRates: { temp: 1, vib: 5, 'm1/vib': 100 } });
    for (const machine of ['m1', 'm2']) {
      engine.add(machine, 'vib', T0 + 1_000, 1);
      engine.add(machine, 'temp', T0 + 1_000, 1);
      engine.add(machine, 'other', T0 + 1_000, 1);
    }
    engine.flush();
    expect(expectedCounts(windows)).toEqual([
      { other: 0, temp: 10, vib: 1_000 },
      { other: 0, temp: 10, vib: 50 },
    ]);
  });

  it('comes from the hz of sampled blocks', () => {
    const { engine, windows } = harness();
    engine.addBlock('m1', 'vib', T0, 50, new Float64Array(100));
    engine.flush();
    expect(windows[0]?.sensors[0]).toMatchObject({ count: 100, expectedCount: 500 });
  });

  it('is learned from complete windows (not the first, not the window itself), as a median', () => {
    const { engine, windows } = harness({ allowedLatenessMs: 0 });
    const addEvery500ms = (from: number, to: number) => {
      for (let t = from; t < to; t += 500) engine.add('m1', 's', T0 + t, 1);
    };
    addEvery500ms(5_000, 40_000); // windows 0 (partial: 10), 1, 2, 3 (20 each)
    addEvery500ms(40_000, 46_000); // window 4: a gap leaves 12
    engine.add('m1', 's', T0 + 60_000, 1);
    expect(windows.map((w) => [w.sensors[0]?.count, w.sensors[0]?.expectedCount])).toEqual([
      [10, 0],
      [20, 0],
      [20, 20],
      [20, 20],
      [12, 20],
    ]);
  });

  it('is not learned from windows closed by the idle timeout', () => {
    const { engine, clock, windows } = harness({ allowedLatenessMs: 0 });
    engine.add('m1', 's', T0 + 1_000, 1);
    for (let window = 1; window <= 3; window++) {
      engine.add('m1', 's', T0 + window * 40_000, 1);
      clock.advance(40_000);
      engine.tick();
    }
    expect(windows.every((w) => w.sensors[0]?.expectedCount === 0)).toBe(true);
    expect(windows.some((w) => w.closeReason === CloseReason.IDLE_TIMEOUT)).toBe(true);
  });
});

describe('bounded state', () => {
  it('evicts a sensor unseen for evictAfterMs while its machine carries on', () => {
    const { engine, clock } = harness({ idleTimeoutMs: 30_000, evictAfterMs: 60_000 });
    engine.add('m1', 'x', T0 + 1_000, 1);
    for (let t = 5_000; t <= 65_000; t += 5_000) {
      clock.advance(5_000);
      engine.add('m1', 'y', T0 + t, 1);
      engine.tick();
    }
    expect(engine.metrics()).toMatchObject({ evictedSensors: 1, sensors: 1, machines: 1 });
    // It was x that went: y is still known, x comes back as a new sensor.
    engine.add('m1', 'y', T0 + 66_000, 1);
    expect(engine.metrics().sensors).toBe(1);
    engine.add('m1', 'x', T0 + 66_000, 1);
    expect(engine.metrics().sensors).toBe(2);
  });

  it("adds through a sensor's handle as by its ids, and lets the handle go when it evicts the sensor or its machine", () => {
    const { engine, clock, windows } = harness({ idleTimeoutMs: 30_000, evictAfterMs: 60_000 });
    expect(engine.sensorHandle('m1', 'x')).toBeUndefined();
    engine.add('m1', 'x', T0 + 1_000, 1);
    engine.add('m1', 'y', T0 + 1_000, 10);
    const x = engine.sensorHandle('m1', 'x')!;
    const y = engine.sensorHandle('m1', 'y')!;
    expect(engine.addTo(x, T0 + 2_000, 3, clock.now())).toBe('accepted');
    expect(engine.addTo(x, T0 + 3_000, Number.NaN, clock.now())).toBe('invalid');
    expect(engine.metrics()).toMatchObject({ readingsAccepted: 3, invalidReadings: 1, sensors: 2 });
    // x goes silent; y carries on through its handle, which keeps the machine and y alive.
    for (let t = 5_000; t <= 65_000; t += 5_000) {
      clock.advance(5_000);
      engine.addTo(y, T0 + t, 10, clock.now());
      engine.tick();
    }
    expect([x.held, y.held]).toEqual([false, true]);
    expect(engine.sensorHandle('m1', 'x')).toBeUndefined();
    expect(() => engine.addTo(x, T0 + 70_000, 1, clock.now())).toThrow(/forgot/);
    clock.advance(60_000);
    engine.tick();
    expect(y.held).toBe(false);
    expect(engine.metrics()).toMatchObject({ machines: 0, sensors: 0 });
    // x's window held its readings by ids and by handle alike: 1 and 3.
    const first = windows.find((w) => w.sensors.some((s) => s.sensorId === 'x'))!;
    expect(first.sensors.find((s) => s.sensorId === 'x')).toMatchObject({ count: 2, min: 1, max: 3 });
  });

  it('emits a silent machine window before forgetting its sensors, then forgets the machine', () => {
    const { engine, clock, windows } = harness({ idleTimeoutMs: 30_000, evictAfterMs: 60_000 });
    engine.add('m1', 'x', T0 + 1_000, 1);
    clock.advance(60_000);
    engine.tick();
    expect(windows.map((w) => [w.closeReason, w.sensors.map((s) => s.sensorId)])).toEqual([
      [CloseReason.IDLE_TIMEOUT, ['x']],
    ]);
    expect(engine.metrics()).toMatchObject({ machines: 0, sensors: 0, retainedPanes: 0, approxStateBytes: 0 });
  });

  it('reports open windows, state size and counters', () => {
    const { engine } = harness();
    for (const machine of ['m1', 'm2']) {
      engine.add(machine, 'a', T0 + 9_000, 1);
      engine.add(machine, 'b', T0 + 10_500, 1);
    }
    const open = engine.metrics();
    expect(open).toMatchObject({ machines: 2, sensors: 4, openWindows: 4, retainedPanes: 4, readingsAccepted: 4 });
    expect(open.approxStateBytes).toBeGreaterThan(0);
    engine.flush();
    expect(engine.metrics()).toMatchObject({ openWindows: 0, retainedPanes: 0, windowsEmitted: 4 });
  });

  it('keeps its sensor and pane counts true through any mix of readings, late data, ticks and eviction', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), machine: fc.constantFrom('m1', 'm2'), sensor: fc.constantFrom('a', 'b', 'c'), offsetMs: fc.integer({ min: -30_000, max: 30_000 }) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1_000, max: 40_000 }) }),
    );
    const options = fc.record({ hopMs: fc.constantFrom(undefined, 5_000), lateMode: fc.constantFrom('count' as const, 'revise' as const) });
    fc.assert(
      fc.property(options, fc.array(step, { maxLength: 60 }), (knobs, steps) => {
        const { engine, clock } = harness({ ...knobs, idleTimeoutMs: 30_000, evictAfterMs: 60_000 });
        const seen = new Set<string>();
        for (const s of steps) {
          if (s.kind === 'add') {
            engine.add(s.machine, s.sensor, clock.now() + s.offsetMs, 1);
            seen.add(`${s.machine}/${s.sensor}`);
            // The sensor just written to is live; no more sensors are live than were ever seen.
            expect(engine.metrics().sensors).toBeGreaterThanOrEqual(1);
          } else {
            clock.advance(s.ms);
            engine.tick();
          }
          expect(engine.metrics().sensors).toBeLessThanOrEqual(seen.size);
        }
        // Once everything is emitted and forgotten, no count may be left over.
        engine.flush();
        clock.advance(10 * 60_000);
        engine.tick();
        expect(engine.metrics()).toMatchObject({ machines: 0, sensors: 0, retainedPanes: 0, openWindows: 0 });
      }),
    );
  });
});
