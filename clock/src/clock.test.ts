import { describe, expect, it } from 'vitest';
import { ManualClock, every, sleep, systemClock } from './clock.js';

describe('ManualClock', () => {
  it('runs due timers in due order, reading each due time, and not the ones beyond the move', () => {
    const clock = new ManualClock(1_000);
    const ran: Array<[string, number]> = [];
    clock.schedule(() => ran.push(['b', clock.now()]), 200);
    clock.schedule(() => ran.push(['a', clock.now()]), 100);
    clock.schedule(() => ran.push(['c', clock.now()]), 200);
    clock.schedule(() => ran.push(['late', clock.now()]), 301);
    clock.advance(300);
    expect(ran).toEqual([
      ['a', 1_100],
      ['b', 1_200],
      ['c', 1_200],
    ]);
    expect(clock.now()).toBe(1_300);
    expect(clock.pending()).toBe(1);
  });

  it('runs timers scheduled by a timer when they fall due within the same move', () => {
    const clock = new ManualClock();
    const ran: number[] = [];
    clock.schedule(() => {
      ran.push(clock.now());
      clock.schedule(() => ran.push(clock.now()), 50);
    }, 100);
    clock.advance(149);
    expect(ran).toEqual([100]);
    clock.advance(1);
    expect(ran).toEqual([100, 150]);
  });

  it('never runs a cancelled timer; cancelling twice or after it ran is harmless', () => {
    const clock = new ManualClock();
    let runs = 0;
    const cancel = clock.schedule(() => runs++, 10);
    cancel();
    cancel();
    clock.advance(20);
    expect(runs).toBe(0);
    const ranCancel = clock.schedule(() => runs++, 10);
    clock.advance(10);
    ranCancel();
    expect(runs).toBe(1);
    expect(clock.pending()).toBe(0);
  });

  it('set() moves forward running due timers, and backward running nothing', () => {
    const clock = new ManualClock(500);
    let runs = 0;
    clock.schedule(() => runs++, 100);
    clock.set(100);
    expect(runs).toBe(0);
    expect(clock.now()).toBe(100);
    clock.set(600);
    expect(runs).toBe(1);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});

describe('every', () => {
  it('repeats at the interval until cancelled', () => {
    const clock = new ManualClock();
    const at: number[] = [];
    const cancel = every(clock, 100, () => at.push(clock.now()));
    clock.advance(350);
    cancel();
    clock.advance(1_000);
    expect(at).toEqual([100, 200, 300]);
    expect(clock.pending()).toBe(0);
  });

  it('stops when cancelled from inside its own call', () => {
    const clock = new ManualClock();
    let runs = 0;
    const cancel = every(clock, 10, () => {
      runs++;
      cancel();
    });
    clock.advance(100);
    expect(runs).toBe(1);
  });
});

describe('sleep', () => {
  it('resolves when the clock passes the delay', async () => {
    const clock = new ManualClock();
    let done = false;
    const slept = sleep(clock, 1_000).then(() => (done = true));
    clock.advance(999);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await slept;
    expect(done).toBe(true);
  });

  it('resolves at once on abort and leaves no timer behind', async () => {
    const clock = new ManualClock();
    const abort = new AbortController();
    const slept = sleep(clock, 60_000, abort.signal);
    abort.abort();
    await slept;
    expect(clock.pending()).toBe(0);
  });
});

describe('systemClock', () => {
  it('schedules on real timers that can be cancelled', async () => {
    let fired = false;
    const cancel = systemClock.schedule(() => (fired = true), 5);
    cancel();
    const t0 = systemClock.now();
    await sleep(systemClock, 20);
    expect(systemClock.now() - t0).toBeGreaterThanOrEqual(15);
    expect(fired).toBe(false);
  });
});
