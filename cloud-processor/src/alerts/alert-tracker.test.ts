import { describe, expect, it } from 'vitest';
import type { AlertRule, WindowScore } from '../model/api.js';
import { pumpScore } from '../test-support/alert-windows.js';
import { ALERT_DEFAULTS, AlertTracker } from './alert-tracker.js';

/** pumpScore for another machine or with the model's own alert rule. */
const score = (index: number, isAnomaly: boolean, machineId = 'pump-1', alertRule?: AlertRule): WindowScore => ({
  ...pumpScore(index, isAnomaly),
  machineId,
  ...(alertRule ? { alertRule } : {}),
});

/** Feeds a pattern like "AANAAA" (A = anomalous) and returns the transitions as "index:state". */
function run(tracker: AlertTracker, pattern: string, machineId = 'pump-1', from = 0): string[] {
  return [...pattern].flatMap((c, i) => {
    const t = tracker.observe(score(from + i, c === 'A', machineId));
    return t ? [`${from + i}:${t.state}`] : [];
  });
}

describe('AlertTracker (K-of-N/M hysteresis)', () => {
  it('opens after K consecutive anomalous windows when N = K and resolves after M consecutive normal ones', () => {
    const tracker = new AlertTracker({ openAfter: 3, within: 3, resolveAfter: 2 });
    expect(run(tracker, 'AANAAAANANNA')).toEqual(['5:open', '10:resolved']);
  });

  it('keeps one alert id across open and resolve, and tracks machines separately', () => {
    const tracker = new AlertTracker({ openAfter: 2, within: 2, resolveAfter: 1 });
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
    const tracker = new AlertTracker({ openAfter: 3, within: 3, resolveAfter: 1 });
    expect(tracker.observe(score(5, true))).toBeUndefined();
    expect(tracker.observe(score(5, true))).toBeUndefined(); // redelivery
    expect(tracker.observe(score(4, true))).toBeUndefined(); // older window
    expect(tracker.observe(score(6, true))).toBeUndefined();
    expect(tracker.observe(score(7, true))?.state).toBe('open');
  });

  it('defaults to 3 of the last 5 windows anomalous to open and 5 normal ones in a row to resolve', () => {
    // A A N A: three of the last four (fewer than five seen so far) opens at window 3.
    expect(run(new AlertTracker(), 'AANAAANNNNNA')).toEqual(['3:open', '10:resolved']);
    expect(run(new AlertTracker(), 'ANNANNA')).toEqual([]); // never three within five
    expect(ALERT_DEFAULTS).toEqual({ openAfter: 3, within: 5, resolveAfter: 5 });
  });

  it('opens when K of the last N windows are anomalous, gaps included', () => {
    // K=2, N=3. A,N,A: two anomalous among the last three -> opens on the third window.
    expect(run(new AlertTracker({ openAfter: 2, within: 3, resolveAfter: 2 }), 'ANA')).toEqual(['2:open']);
    // A,N,N,A: at index 3 the last three are N,N,A -> one anomalous, no alert; the next A makes N,A,A.
    expect(run(new AlertTracker({ openAfter: 2, within: 3, resolveAfter: 2 }), 'ANNAA')).toEqual(['4:open']);
    // K=3, N=5: A,N,A,N,N,A -> windows 1..5 are N,A,N,N,A (two) -> nothing; window 6 (A) gives A,N,N,A,A (three).
    expect(run(new AlertTracker({ openAfter: 3, within: 5, resolveAfter: 9 }), 'ANANNAA')).toEqual(['6:open']);
  });

  it('says how many of how many windows opened the alert', () => {
    const gap = new AlertTracker({ openAfter: 2, within: 3, resolveAfter: 2 });
    gap.observe(score(0, true));
    gap.observe(score(1, false));
    expect(gap.observe(score(2, true))?.message).toBe('2 of the last 3 windows anomalous (score 9.00 > threshold 5.00)');
    const run3 = new AlertTracker({ openAfter: 3, within: 3, resolveAfter: 2 });
    run3.observe(score(0, true));
    run3.observe(score(1, true));
    expect(run3.observe(score(2, true))?.message).toBe('3 consecutive anomalous windows (score 9.00 > threshold 5.00)');
  });

  it('resolves after M consecutive normal windows, and the next episode needs K new anomalous windows', () => {
    const tracker = new AlertTracker({ openAfter: 2, within: 4, resolveAfter: 2 });
    // 0:A 1:A open. 2:N 3:A (normal run broken) 4:N 5:N resolved at 5.
    // Without forgetting the episode, 6:A would see A,N,N,A among the last four and reopen at once;
    // it does not: 6:A, 7:N, 8:A are the new episode's two anomalous of the last four -> opens at 8.
    expect(run(tracker, 'AANANNANA')).toEqual(['1:open', '5:resolved', '8:open']);
  });

  it("judges a window by its model's own rule when the score carries one", () => {
    const tracker = new AlertTracker({ openAfter: 3, within: 3, resolveAfter: 3 });
    const oneOfOne: AlertRule = { openAfter: 1, within: 1, resolveAfter: 1 };
    const opened = tracker.observe(score(0, true, 'pump-1', oneOfOne));
    expect(opened?.state).toBe('open');
    expect(opened?.message).toBe('1 anomalous window (score 9.00 > threshold 5.00)');
    expect(tracker.observe(score(1, false, 'pump-1', oneOfOne))?.state).toBe('resolved');
    // Without a rule on the score, the tracker's 3-of-3 applies: the first anomalous window opens nothing.
    expect(run(tracker, 'AA', 'fan-2')).toEqual([]);
    expect(run(tracker, 'A', 'fan-2', 2)).toEqual(['2:open']);
  });

  it('ignores a redelivered window under a K-of-N rule as well', () => {
    const tracker = new AlertTracker({ openAfter: 2, within: 3, resolveAfter: 1 });
    expect(tracker.observe(score(0, true))).toBeUndefined();
    expect(tracker.observe(score(0, true))).toBeUndefined(); // redelivery would make it 2 of 2
    expect(tracker.observe(score(1, false))).toBeUndefined();
    expect(tracker.observe(score(1, true))).toBeUndefined(); // revised window: still counted once, as normal
    expect(tracker.observe(score(2, true))?.state).toBe('open');
  });
});
