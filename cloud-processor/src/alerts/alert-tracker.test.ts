import { describe, expect, it } from 'vitest';
import type { WindowScore } from '../model/api.js';
import { AlertTracker } from './alert-tracker.js';

const score = (index: number, isAnomaly: boolean, machineId = 'pump-1'): WindowScore => ({
  siteId: 'plant-1',
  machineId,
  windowStart: index * 10_000,
  windowEnd: (index + 1) * 10_000,
  model: 'm',
  modelVersion: '1',
  score: isAnomaly ? 9 : 1,
  threshold: 5,
  isAnomaly,
  contributions: {},
});

/** Feeds a pattern like "AANAAA" (A = anomalous) and returns the transitions as "index:state". */
function run(tracker: AlertTracker, pattern: string, machineId = 'pump-1', from = 0): string[] {
  return [...pattern].flatMap((c, i) => {
    const t = tracker.observe(score(from + i, c === 'A', machineId));
    return t ? [`${from + i}:${t.state}`] : [];
  });
}

describe('AlertTracker (K/M hysteresis)', () => {
  it('opens after K consecutive anomalous windows and resolves after M consecutive normal ones', () => {
    const tracker = new AlertTracker({ openAfter: 3, resolveAfter: 2 });
    expect(run(tracker, 'AANAAAANANNA')).toEqual(['5:open', '10:resolved']);
  });

  it('keeps one alert id across open and resolve, and tracks machines separately', () => {
    const tracker = new AlertTracker({ openAfter: 2, resolveAfter: 1 });
    const opened = [tracker.observe(score(0, true)), tracker.observe(score(1, true))][1];
    expect(run(tracker, 'AA', 'fan-2')).toEqual(['1:open']);
    expect(tracker.openCount()).toBe(2);
    const resolved = tracker.observe(score(2, false));
    expect(opened?.state).toBe('open');
    expect(resolved?.state).toBe('resolved');
    expect(resolved?.alertId).toBe(opened?.alertId);
    expect(resolved?.openedAt).toBe(20_000);
    expect(tracker.openCount()).toBe(1);
  });

  it('counts a window once: redelivered or out-of-order windows do not advance the hysteresis', () => {
    const tracker = new AlertTracker({ openAfter: 3, resolveAfter: 1 });
    expect(tracker.observe(score(5, true))).toBeUndefined();
    expect(tracker.observe(score(5, true))).toBeUndefined(); // redelivery
    expect(tracker.observe(score(4, true))).toBeUndefined(); // older window
    expect(tracker.observe(score(6, true))).toBeUndefined();
    expect(tracker.observe(score(7, true))?.state).toBe('open');
  });
});
