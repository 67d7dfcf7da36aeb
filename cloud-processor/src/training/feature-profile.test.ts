import { describe, expect, it } from 'vitest';
import { binCount, featureBins, fitFeatureProfile } from './feature-profile.js';

/** 1..n in a scrambled order (the profile must not depend on the order of the windows). */
const scrambled = (n: number) => Array.from({ length: n }, (_, i) => ((i * 7919) % n) + 1);

describe('featureBins', () => {
  it('cuts 300 windows at their deciles, a tenth of the windows in each bin', () => {
    const bins = featureBins(scrambled(300));
    // Nearest rank: the k-th decile of 1..300 is 30k.
    expect(bins.edges).toEqual([30, 60, 90, 120, 150, 180, 210, 240, 270]);
    expect(bins.shares).toHaveLength(10);
    for (const share of bins.shares) expect(share).toBeCloseTo(0.1, 12);
  });

  it('uses one bin per 30 windows below 300, at least 2', () => {
    expect([12, 59, 60, 100, 299, 300, 5000].map(binCount)).toEqual([2, 2, 2, 3, 9, 10, 10]);
    const bins = featureBins(scrambled(100));
    // Thirds of 1..100 by nearest rank: ranks 34 and 67.
    expect(bins.edges).toEqual([34, 67]);
    expect(bins.shares).toEqual([0.34, 0.33, 0.33]);
  });

  it('merges tied quantiles and closes the bottom bin below a floor most windows sit on', () => {
    // Half the windows at 0, the rest 1..150: deciles 1–5 are all 0.
    const values = [...new Array<number>(150).fill(0), ...scrambled(150)];
    const bins = featureBins(values);
    expect(bins.edges.slice(1)).toEqual([0, 30, 60, 90, 120]);
    expect(bins.edges[0]).toBeLessThan(0);
    expect(bins.shares).toEqual([0, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1]);
  });

  it('gives a constant feature a bin of its own, with empty bins on both sides', () => {
    const bins = featureBins(new Array<number>(40).fill(5));
    expect(bins.edges).toHaveLength(2);
    expect(bins.edges[0]).toBeLessThan(5);
    expect(bins.edges[0]).toBeGreaterThan(5 - 1e-12);
    expect(bins.edges[1]).toBe(5);
    expect(bins.shares).toEqual([0, 1, 0]);
  });
});

describe('fitFeatureProfile', () => {
  it('profiles every column of the rows under its feature name', () => {
    const rows = scrambled(300).map((v) => [v, 2 * v]);
    const profile = fitFeatureProfile(['a.mean', 'a.rms'], rows);
    expect(profile.featureNames).toEqual(['a.mean', 'a.rms']);
    expect(profile.windows).toBe(300);
    expect(profile.features[1]!.edges).toEqual([60, 120, 180, 240, 300, 360, 420, 480, 540]);
  });
});
