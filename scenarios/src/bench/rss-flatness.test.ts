import { describe, expect, it } from 'vitest';
import { rssFlatness } from './rss-flatness.js';

describe('rssFlatness', () => {
  const minute = 60_000;

  it('ignores the samples of the settling time and measures the rest against their median', () => {
    // Settling: 100 then 400 MB (ignored). After: 200, 210, 190, 230 → median 205; worst 230 - 205 = 25 → 12.2 %.
    const verdict = rssFlatness([1, 4, 6, 7, 8, 9].map((m) => m * minute), [100, 400, 200, 210, 190, 230], 5 * minute, 0.15);
    expect(verdict).toEqual({ samples: 4, medianMb: 205, minMb: 190, maxMb: 230, worstDeviation: 25 / 205, flat: true });
  });

  it('is not flat when one sample strays beyond the tolerance', () => {
    // Median of 200, 200, 240 is 200; 240 is 20 % above it.
    const verdict = rssFlatness([6, 7, 8].map((m) => m * minute), [200, 240, 200], 5 * minute, 0.15);
    expect(verdict?.flat).toBe(false);
    expect(verdict?.worstDeviation).toBeCloseTo(0.2, 10);
  });

  it('has no verdict when nothing was sampled after settling', () => {
    expect(rssFlatness([minute, 2 * minute], [100, 100], 5 * minute, 0.15)).toBeUndefined();
  });
});
