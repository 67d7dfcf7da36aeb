import { CloseReason } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { bounds, harness, T0 } from './test-support/engine-harness.js';

/** Window [0, 10 s) with values 1 and 3, closed by a reading at 12 s (lateness 2 s). */
function closedFirstWindow(lateMode: 'count' | 'revise') {
  const h = harness({ lateMode, reviseHorizonMs: 30_000 });
  h.engine.add('m1', 's', T0 + 1_000, 1);
  h.engine.add('m1', 's', T0 + 2_000, 3);
  h.engine.add('m1', 's', T0 + 12_000, 100);
  expect(h.windows).toHaveLength(1);
  return h;
}

describe("late readings, lateMode 'count'", () => {
  it('counts a reading beyond the lateness without touching the emitted window', () => {
    const { engine, windows } = closedFirstWindow('count');
    expect(engine.add('m1', 's', T0 + 5_000, 7)).toBe('late');
    engine.tick();
    engine.flush();
    expect(windows.map((w) => [bounds(w), w.revision])).toEqual([[[0, 10_000], 0], [[10_000, 20_000], 0]]);
    expect(windows[0]!.sensors[0]).toMatchObject({ count: 2, lateCount: 0 });
    expect(engine.metrics()).toMatchObject({ lateReadings: 1, tooLateReadings: 0, revisionsEmitted: 0 });
  });

  it('counts readings older than the revise horizon as too late', () => {
    const { engine } = closedFirstWindow('count');
    engine.add('m1', 's', T0 + 62_000, 1); // closed floor 60 s, horizon 30 s: panes before 30 s are too late
    expect(engine.add('m1', 's', T0 + 29_999, 1)).toBe('too_late');
    expect(engine.add('m1', 's', T0 + 30_000, 1)).toBe('late');
    expect(engine.metrics()).toMatchObject({ lateReadings: 1, tooLateReadings: 1 });
  });
});

describe("late readings, lateMode 'revise'", () => {
  it('re-emits the closed window with revision + 1, the same bounds and the late reading in it', () => {
    const { engine, windows } = closedFirstWindow('revise');
    expect(engine.add('m1', 's', T0 + 5_000, 8)).toBe('late');
    expect(windows).toHaveLength(1); // revisions go out on the next tick, not per late reading
    engine.tick();
    expect(windows).toHaveLength(2);
    const [original, revised] = windows;
    expect(bounds(revised!)).toEqual(bounds(original!));
    expect(revised).toMatchObject({ revision: 1, closeReason: CloseReason.LATE_REVISION });
    expect(revised?.sensors[0]).toMatchObject({ count: 3, mean: 4, max: 8, lateCount: 1 });

    engine.add('m1', 's', T0 + 6_000, 0);
    engine.add('m1', 's', T0 + 7_000, 0);
    engine.tick();
    expect(windows[2]).toMatchObject({ revision: 2 });
    expect(windows[2]?.sensors[0]).toMatchObject({ count: 5, lateCount: 3 });
    engine.tick();
    expect(windows).toHaveLength(3);
  });

  it('keeps a silent sensor past evictAfterMs while a revision may still need its panes', () => {
    // Revisions reach 2 minutes back; a silent sensor is forgotten after 1 minute.
    const { engine, clock, windows } = harness({ lateMode: 'revise', reviseHorizonMs: 120_000, idleTimeoutMs: 30_000, evictAfterMs: 60_000 });
    engine.add('m1', 'b', T0 + 1_000, 1);
    engine.add('m1', 'b', T0 + 2_000, 3);
    for (let t = 5_000; t <= 80_000; t += 5_000) {
      clock.advance(5_000);
      engine.add('m1', 'a', T0 + t, 1);
      engine.tick();
    }
    // b's late reading for [0, 10 s), 80 s later: the revision holds all three of b's readings.
    expect(engine.add('m1', 'b', T0 + 5_000, 8)).toBe('late');
    engine.tick();
    const revised = windows.find((w) => w.revision === 1)!;
    expect(bounds(revised)).toEqual([0, 10_000]);
    expect(revised.sensors.find((s) => s.sensorId === 'b')).toMatchObject({ count: 3, mean: 4, lateCount: 1 });
    // Once no revision can reach its panes, b goes as before.
    for (let t = 85_000; t <= 220_000; t += 5_000) {
      clock.advance(5_000);
      engine.add('m1', 'a', T0 + t, 1);
      engine.tick();
    }
    expect(engine.metrics()).toMatchObject({ evictedSensors: 1, sensors: 1 });
  });

  it('emits a pending revision before the next window it closes', () => {
    const { engine, windows } = closedFirstWindow('revise');
    engine.add('m1', 's', T0 + 5_000, 8);
    engine.add('m1', 's', T0 + 22_000, 1); // closes [10, 20)
    expect(windows.map((w) => [bounds(w), w.revision])).toEqual([
      [[0, 10_000], 0],
      [[0, 10_000], 1],
      [[10_000, 20_000], 0],
    ]);
  });

  it('revises a hopping window with every one of its panes, however close to the horizon the late reading falls', () => {
    // 1-minute windows every 10 s, horizon 60 s: a late reading 55 s behind the frontier joins the
    // window that started 50 s before its pane, whose first panes lie beyond the horizon.
    const h = harness({ windowMs: 60_000, hopMs: 10_000, lateMode: 'revise', reviseHorizonMs: 60_000 });
    for (let i = 0; i <= 200; i++) h.engine.add('m1', 's', T0 + i * 1_000, i); // frontier at 190 s
    expect(h.engine.add('m1', 's', T0 + 135_000, 1_000)).toBe('late');
    h.engine.tick();
    const revised = h.windows.find((w) => Number(w.windowStart) === T0 + 80_000 && w.revision === 1);
    // By hand: the readings at 80..139 s (60) and the late one.
    expect(revised?.sensors[0]?.count).toBe(61);
    expect(revised?.sensors[0]?.max).toBe(1_000);
    expect(revised?.sensors[0]?.min).toBe(80);
  });

  it('drops closed windows beyond the revise horizon: their late readings are only counted', () => {
    const { engine, windows } = closedFirstWindow('revise');
    engine.add('m1', 's', T0 + 52_000, 1); // closed floor 50 s: window [0, 10) is 40 s behind
    const emitted = windows.length;
    expect(engine.add('m1', 's', T0 + 5_000, 8)).toBe('too_late');
    engine.tick();
    expect(windows).toHaveLength(emitted);
    expect(engine.metrics().retainedPanes).toBe(1); // only the open pane [50, 60): [10, 20) fell out of the horizon
  });

  it('a late reading for a window the sensor had no data in emits that window for the first time', () => {
    const { engine, windows } = harness({ lateMode: 'revise' });
    engine.add('m1', 's', T0 + 1_000, 1);
    engine.add('m1', 's', T0 + 32_000, 1); // closes [0, 10); [10, 20) and [20, 30) never had data
    engine.add('m1', 's', T0 + 15_000, 4);
    engine.tick();
    expect(windows.map((w) => [bounds(w), w.revision, w.closeReason])).toEqual([
      [[0, 10_000], 0, CloseReason.WATERMARK],
      [[10_000, 20_000], 0, CloseReason.LATE_REVISION],
    ]);
  });
});
