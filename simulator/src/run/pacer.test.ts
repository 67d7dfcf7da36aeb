import { describe, expect, it } from 'vitest';
import type { Clock, Sleeper } from './clock.js';
import { Pacer } from './pacer.js';

/** A clock that only moves when the pacer sleeps: time passes without any real waiting. */
function manualTime(): Clock & Sleeper & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

describe('Pacer', () => {
  it('maps virtual time to real time divided by speed', async () => {
    const t = manualTime();
    const pacer = new Pacer(t, t, 60, Infinity);
    pacer.start(0);
    await pacer.wait(0, 0);
    await pacer.wait(60_000, 0);
    await pacer.wait(120_000, 0);
    expect(t.slept).toEqual([1000, 1000]);
  });

  it('holds the reading rate under its cap even when speed allows more', async () => {
    const t = manualTime();
    const pacer = new Pacer(t, t, Infinity, 1000);
    pacer.start(0);
    await pacer.wait(1000, 500);
    expect(t.slept).toEqual([500]);
  });

  it('never waits at max speed and reports lag when behind schedule', async () => {
    const t = manualTime();
    const fast = new Pacer(t, t, Infinity, Infinity);
    fast.start(0);
    await fast.wait(1e12, 1e12);
    expect(t.slept).toEqual([]);

    const slow = new Pacer(t, t, 1, Infinity);
    slow.start(0);
    await t.sleep(5000);
    expect(slow.lagMs(1000)).toBe(4000);
  });
});
