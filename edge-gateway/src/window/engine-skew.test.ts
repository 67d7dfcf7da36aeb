import { CloseReason, type MachineWindow } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { bounds, harness, T0 } from './test-support/engine-harness.js';

/** The newest revision of every window, as a consumer that keeps the highest revision ends up with. */
function newest(windows: readonly MachineWindow[]): Map<number, MachineWindow> {
  const byStart = new Map<number, MachineWindow>();
  for (const w of windows) {
    const start = Number(w.windowStart) - T0;
    if ((byStart.get(start)?.revision ?? -1) < w.revision) byStart.set(start, w);
  }
  return byStart;
}

const counts = (w: MachineWindow | undefined) => Object.fromEntries((w?.sensors ?? []).map((s) => [s.sensorId, s.count]));

describe('per-sensor event time', () => {
  it('a sensor whose clock runs 30 s ahead makes no reading of its machine’s other sensor late', () => {
    // The repro: "a" stamps its readings 30 s ahead, "b" is on time; one reading each per
    // second for 40 s, ticking every second. Before, "a" alone moved the machine's watermark and 39
    // of b's 40 readings were late and dropped.
    const { engine, clock, windows } = harness();
    const outcomes: string[] = [];
    for (let i = 0; i < 40; i++) {
      engine.add('m1', 'a', T0 + 30_000 + i * 1_000, 1);
      outcomes.push(engine.add('m1', 'b', T0 + i * 1_000, 2));
      clock.advance(1_000);
      engine.tick();
    }
    engine.flush();

    expect(outcomes.filter((o) => o !== 'accepted')).toEqual([]);
    expect(engine.metrics()).toMatchObject({ readingsAccepted: 80, lateReadings: 0, tooLateReadings: 0 });
    // By hand: b's readings 0..39 s fill [0, 10) … [30, 40) with 10 each; a's 30..69 s fill [30, 40) … [60, 70).
    const final = newest(windows);
    expect([...final.keys()].sort((x, y) => x - y)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
    expect([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000].map((start) => counts(final.get(start)))).toEqual([
      { b: 10 },
      { b: 10 },
      { b: 10 },
      { a: 10, b: 10 },
      { a: 10 },
      { a: 10 },
      { a: 10 },
    ]);
    // None of b's readings is counted late in a window either: they were on time for b.
    expect([...final.values()].flatMap((w) => w.sensors.map((s) => s.lateCount))).toEqual(Array(8).fill(0));
    // Never one idempotency key with two contents: every (window, revision) goes out once.
    const keys = windows.map((w) => `${bounds(w)[0]}/${w.revision}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('re-emits a window the leader closed once the trailing sensor passed it, as revision + 1', () => {
    const { engine, windows } = harness({ allowedLatenessMs: 0 });
    engine.add('m1', 'b', T0 + 1_000, 1);
    engine.add('m1', 'a', T0 + 25_000, 5); // a runs ahead: closes [0, 10) with b's one reading
    expect(windows.map((w) => [bounds(w), w.revision, counts(w)])).toEqual([[[0, 10_000], 0, { b: 1 }]]);

    expect(engine.add('m1', 'b', T0 + 4_000, 3)).toBe('accepted'); // on time for b
    engine.tick();
    expect(windows).toHaveLength(1); // b is still inside [0, 10): no revision per reading

    engine.add('m1', 'b', T0 + 10_000, 7); // b's watermark (lateness 0) passes 10 s
    engine.tick();
    expect(windows.map((w) => [bounds(w), w.revision, w.closeReason])).toEqual([
      [[0, 10_000], 0, CloseReason.WATERMARK],
      [[0, 10_000], 1, CloseReason.LATE_REVISION],
    ]);
    expect(windows[1]?.sensors[0]).toMatchObject({ sensorId: 'b', count: 2, mean: 2, lateCount: 0 });
  });

  it('counts the readings of a sensor trailing the leader by more than maxSensorLagMs as late, and only those', () => {
    const { engine, windows } = harness({ maxSensorLagMs: 60_000 });
    engine.add('m1', 'b', T0 + 1_000, 1);
    for (let t = 0; t < 100_000; t += 1_000) engine.add('m1', 'a', T0 + t, 1);
    // b is 98 s behind the leader: its windows closed without it (within the 60 s revise horizon: late, not too late).
    expect(engine.add('m1', 'b', T0 + 35_000, 1)).toBe('late');
    expect(engine.add('m1', 'b', T0 + 45_000, 1)).toBe('late');
    engine.flush();
    expect(engine.metrics()).toMatchObject({ lateReadings: 2, revisionsEmitted: 0 });
    expect(windows.every((w) => w.revision === 0)).toBe(true);
    expect(windows.reduce((n, w) => n + (counts(w).a ?? 0), 0)).toBe(100);
  });

  it('lets no silent sensor hold a revision back longer than maxSensorLagMs of the leader', () => {
    const { engine, windows } = harness({ allowedLatenessMs: 0, maxSensorLagMs: 30_000 });
    engine.add('m1', 'c', T0 + 500, 1); // c falls silent
    engine.add('m1', 'b', T0 + 1_000, 1);
    engine.add('m1', 'a', T0 + 20_000, 1); // closes [0, 10) and [10, 20)
    engine.add('m1', 'b', T0 + 5_000, 1);
    engine.add('m1', 'b', T0 + 12_000, 1); // b passed [0, 10); c, silent, is still within 30 s of a
    engine.tick();
    expect(windows.map((w) => [bounds(w), w.revision])).toEqual([[[0, 10_000], 0]]);
    engine.add('m1', 'a', T0 + 30_501, 1); // c is more than 30 s behind now: it holds nothing back
    engine.tick();
    expect(windows.filter((w) => w.closeReason === CloseReason.LATE_REVISION).map((w) => [bounds(w), w.revision, counts(w)])).toEqual([
      [[0, 10_000], 1, { b: 2, c: 1 }],
    ]);
    engine.add('m1', 'b', T0 + 20_000, 1); // and b passed [10, 20), which it alone filled
    engine.tick();
    expect(windows.filter((w) => w.closeReason === CloseReason.LATE_REVISION).map((w) => [bounds(w), w.revision, counts(w)])).toEqual([
      [[0, 10_000], 1, { b: 2, c: 1 }],
      [[10_000, 20_000], 0, { b: 1 }],
    ]);
  });

  it('sends what a trailing sensor added when its machine falls silent or the engine stops', () => {
    const idle = harness({ allowedLatenessMs: 0 });
    idle.engine.add('m1', 'b', T0 + 1_000, 1);
    idle.engine.add('m1', 'a', T0 + 12_000, 1);
    idle.engine.add('m1', 'b', T0 + 2_000, 1);
    idle.clock.advance(30_000);
    idle.engine.tick();
    expect(idle.windows.map((w) => [bounds(w), w.revision, w.closeReason])).toEqual([
      [[0, 10_000], 0, CloseReason.WATERMARK],
      [[0, 10_000], 1, CloseReason.LATE_REVISION],
      [[10_000, 20_000], 0, CloseReason.IDLE_TIMEOUT],
    ]);

    const stopped = harness({ allowedLatenessMs: 0 });
    stopped.engine.add('m1', 'b', T0 + 1_000, 1);
    stopped.engine.add('m1', 'a', T0 + 12_000, 1);
    stopped.engine.addBlock('m1', 'b', T0 + 2_000, 10, [1, 2, 3]); // a block of the trailing sensor counts too
    stopped.engine.flush();
    expect(stopped.windows.map((w) => [bounds(w), w.revision, counts(w)])).toEqual([
      [[0, 10_000], 0, { b: 1 }],
      [[0, 10_000], 1, { b: 4 }],
      [[10_000, 20_000], 0, { a: 1 }],
    ]);
  });
});
