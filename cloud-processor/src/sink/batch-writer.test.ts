import type { IPoint } from 'influx';
import { describe, expect, it } from 'vitest';
import type { Scheduler } from '../shared/scheduler.js';
import { BatchWriter } from './batch-writer.js';

/** Timers that fire only when the test says time has passed. */
function manualScheduler() {
  let now = 0;
  const timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  const schedule: Scheduler = (fn, ms) => {
    const timer = { at: now + ms, fn, cancelled: false };
    timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  };
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers.splice(0)) {
      if (t.cancelled) continue;
      if (t.at <= now) t.fn();
      else timers.push(t);
    }
  };
  return { schedule, advance };
}

const point = (i: number): IPoint => ({ measurement: 'm', fields: { v: i }, timestamp: i });

describe('BatchWriter', () => {
  it('holds points until the delay bound, then writes them as one batch and resolves every caller', async () => {
    const clock = manualScheduler();
    const writes: number[] = [];
    const writer = new BatchWriter((points) => (writes.push(points.length), Promise.resolve()), { maxPoints: 100, maxDelayMs: 50 }, clock.schedule);
    const settled: number[] = [];
    const a = writer.add([point(1), point(2)]).then(() => settled.push(1));
    const b = writer.add([point(3)]).then(() => settled.push(2));
    clock.advance(49);
    await Promise.resolve();
    expect(writes).toEqual([]);
    expect(writer.pendingPoints()).toBe(3);
    clock.advance(1);
    await Promise.all([a, b]);
    expect(writes).toEqual([3]);
    expect(settled.sort()).toEqual([1, 2]);
  });

  it('writes at once when the size bound is reached', async () => {
    const clock = manualScheduler();
    const writes: number[] = [];
    const writer = new BatchWriter((points) => (writes.push(points.length), Promise.resolve()), { maxPoints: 3, maxDelayMs: 1_000 }, clock.schedule);
    await Promise.all([writer.add([point(1), point(2)]), writer.add([point(3)])]);
    expect(writes).toEqual([3]);
  });

  it('rejects every caller of a failed batch', async () => {
    const clock = manualScheduler();
    const writer = new BatchWriter(() => Promise.reject(new Error('influx down')), { maxPoints: 2, maxDelayMs: 1_000 }, clock.schedule);
    const results = await Promise.allSettled([writer.add([point(1)]), writer.add([point(2)])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
