import { ManualClock } from '@pdm/clock';
import { describe, expect, it } from 'vitest';
import { DownsampleBackfill, type BackfillRange } from './downsample-backfill.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

function backfillOn(clock: ManualClock, quietMs = 30_000) {
  const ranges: BackfillRange[] = [];
  const backfill = new DownsampleBackfill(['1m', '1h'], (range) => Promise.resolve(void ranges.push(range)), clock, quietMs);
  return { backfill, ranges };
}

describe('DownsampleBackfill', () => {
  it('leaves windows the continuous queries still read to them', async () => {
    const clock = new ManualClock(NOW);
    const { backfill, ranges } = backfillOn(clock);
    // The minute before the last is still read once more by the CQ (RESAMPLE FOR 2m), at 12:01.
    backfill.stored(NOW - 10_000);
    backfill.stored(NOW - 50_000);
    clock.advance(60_000);
    await backfill.flush();
    expect(ranges).toEqual([]);
  });

  it('computes again, once quiet, the intervals of windows stored after the CQs last read them, contiguous ones as one range', async () => {
    const clock = new ManualClock(NOW);
    const { backfill, ranges } = backfillOn(clock);
    // A drain: windows of 10:58–11:01 (11:01 is 59 minutes late: late for 1m, not yet for 1h's 11:00).
    for (const minute of [-62, -61, -60, -59]) backfill.stored(NOW + minute * MIN + 20_000);
    backfill.stored(NOW - 30 * MIN); // 11:30, a gap after 11:01
    clock.advance(29_000);
    expect(ranges).toEqual([]); // not quiet yet
    clock.advance(1_000);
    await backfill.flush();
    expect(ranges).toEqual([
      { interval: '1m', fromMs: NOW - 62 * MIN, toMs: NOW - 58 * MIN },
      { interval: '1m', fromMs: NOW - 30 * MIN, toMs: NOW - 29 * MIN },
      { interval: '1h', fromMs: NOW - 2 * HOUR, toMs: NOW - HOUR },
    ]);
  });

  it('splits a long drain into ranges of an hour at most', async () => {
    const clock = new ManualClock(NOW);
    const { backfill, ranges } = backfillOn(clock);
    for (let minute = -150; minute < -20; minute++) backfill.stored(NOW + minute * MIN);
    await backfill.flush();
    expect(ranges.filter((r) => r.interval === '1m')).toEqual([
      { interval: '1m', fromMs: NOW - 150 * MIN, toMs: NOW - 90 * MIN },
      { interval: '1m', fromMs: NOW - 90 * MIN, toMs: NOW - 30 * MIN },
      { interval: '1m', fromMs: NOW - 30 * MIN, toMs: NOW - 20 * MIN },
    ]);
    // 1h: the hours of 09:00 and 10:00 are late, one query each (11:00 is read once more by the CQ at 13:00).
    expect(ranges.filter((r) => r.interval === '1h')).toEqual([
      { interval: '1h', fromMs: NOW - 3 * HOUR, toMs: NOW - 2 * HOUR },
      { interval: '1h', fromMs: NOW - 2 * HOUR, toMs: NOW - HOUR },
    ]);
  });

  it('waits while late windows keep touching an interval, and runs only the quiet ones', async () => {
    const clock = new ManualClock(NOW);
    const { backfill, ranges } = backfillOn(clock, 30_000);
    backfill.stored(NOW - 10 * MIN);
    clock.advance(20_000);
    backfill.stored(NOW - 5 * MIN);
    clock.advance(10_000); // 10-minutes-ago is quiet for 30 s, 5-minutes-ago for 10 s
    await Promise.resolve();
    expect(ranges).toEqual([{ interval: '1m', fromMs: NOW - 10 * MIN, toMs: NOW - 9 * MIN }]);
    backfill.stored(NOW - 5 * MIN + 30_000); // the drain comes back to it
    clock.advance(29_000);
    await Promise.resolve();
    expect(ranges).toHaveLength(1);
    clock.advance(30_000);
    await backfill.flush();
    expect(ranges).toEqual([
      { interval: '1m', fromMs: NOW - 10 * MIN, toMs: NOW - 9 * MIN },
      { interval: '1m', fromMs: NOW - 5 * MIN, toMs: NOW - 4 * MIN },
    ]);
    expect(clock.pending()).toBe(0);
  });

  it('runs every late interval at flush without waiting, one backfill at a time, and leaves no timer', async () => {
    const clock = new ManualClock(NOW);
    const order: string[] = [];
    let release = () => {};
    const first = new Promise<void>((resolve) => (release = resolve));
    const backfill = new DownsampleBackfill(['1m'], async (range) => {
      order.push(`start ${range.fromMs}`);
      if (range.fromMs === NOW - 10 * MIN) await first;
      order.push(`end ${range.fromMs}`);
    }, clock);
    backfill.stored(NOW - 10 * MIN);
    backfill.stored(NOW - 5 * MIN);
    const flushed = backfill.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([`start ${NOW - 10 * MIN}`]);
    release();
    await flushed;
    expect(order).toEqual([`start ${NOW - 10 * MIN}`, `end ${NOW - 10 * MIN}`, `start ${NOW - 5 * MIN}`, `end ${NOW - 5 * MIN}`]);
    expect(clock.pending()).toBe(0);
  });
});
