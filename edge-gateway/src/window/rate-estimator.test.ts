import { describe, expect, it } from 'vitest';
import { RateEstimator } from './rate-estimator.js';

// expectedCount(windowMs = paneMs) is the median learned pane count: checked by hand on unsorted
// counts, odd and even histories, and a history that wrapped around its five places.
const learned = (counts: number[]) => {
  const rate = new RateEstimator(0);
  for (const count of counts) rate.observeCompletePane(count);
  return rate.expectedCount(10_000, 10_000);
};

describe('RateEstimator learned rate', () => {
  it('is the median of the recent complete panes', () => {
    expect(learned([])).toBe(0);
    expect(learned([7])).toBe(7);
    expect(learned([9, 3, 5])).toBe(5);
    expect(learned([10, 2])).toBe(6);
    expect(learned([4, 100, 1, 3])).toBe(4); // (3 + 4) / 2 = 3.5, rounded
    expect(learned([50, 49, 48, 1, 2])).toBe(48);
  });

  it('looks back on the last five panes only', () => {
    // The 1s go out of the history: 20, 30, 40, 50, 60 remain.
    expect(learned([1, 1, 1, 20, 30, 40, 50, 60])).toBe(40);
  });

  it('scales a pane count to the window', () => {
    const rate = new RateEstimator(0);
    for (const count of [5, 6, 7]) rate.observeCompletePane(count);
    expect(rate.expectedCount(10_000, 5_000)).toBe(12);
  });
});
