import { ManualClock } from '@pdm/clock';
import { describe, expect, it } from 'vitest';
import { Pacer } from './pacer.js';

/** Resolves to how far the clock had to move (in 1 ms steps) before `waiting` settled. */
async function realMsWaited(clock: ManualClock, waiting: Promise<void>): Promise<number> {
  let settled = false;
  void waiting.then(() => (settled = true));
  const start = clock.now();
  for (let step = 0; step < 100_000; step++) {
    await Promise.resolve();
    await Promise.resolve();
    if (settled) return clock.now() - start;
    clock.advance(1);
  }
  throw new Error('the pacer never stopped waiting');
}

describe('Pacer', () => {
  it('maps virtual time to real time divided by speed', async () => {
    const clock = new ManualClock(1_000_000);
    const pacer = new Pacer(clock, 60, Infinity);
    pacer.start(0);
    expect(await realMsWaited(clock, pacer.wait(0, 0))).toBe(0);
    expect(await realMsWaited(clock, pacer.wait(60_000, 0))).toBe(1000);
    expect(await realMsWaited(clock, pacer.wait(120_000, 0))).toBe(1000);
  });

  it('holds the reading rate under its cap even when speed allows more', async () => {
    const clock = new ManualClock(1_000_000);
    const pacer = new Pacer(clock, Infinity, 1000);
    pacer.start(0);
    expect(await realMsWaited(clock, pacer.wait(1000, 500))).toBe(500);
  });

  it('never waits at max speed and reports lag when behind schedule', async () => {
    const clock = new ManualClock(1_000_000);
    const fast = new Pacer(clock, Infinity, Infinity);
    fast.start(0);
    expect(fast.delayFor(1e12, 1e12)).toBe(0);
    expect(await realMsWaited(clock, fast.wait(1e12, 1e12))).toBe(0);

    const slow = new Pacer(clock, 1, Infinity);
    slow.start(0);
    clock.advance(5000);
    expect(slow.lagMs(1000)).toBe(4000);
  });

  it('stops waiting at once when the run is aborted', async () => {
    const clock = new ManualClock(0);
    const pacer = new Pacer(clock, 1, Infinity);
    pacer.start(0);
    const abort = new AbortController();
    const waiting = pacer.wait(3_600_000, 0, abort.signal);
    abort.abort();
    await waiting;
    expect(clock.pending()).toBe(0);
  });
});
