import { describe, expect, it } from 'vitest';
import { draw, GAUSSIAN_Q3, gpdSampler } from '../test-support/seeded-samplers.js';
import { quantile } from '../model/robust-stats.js';
import { fitGpd } from '../model/spot.js';
import { gaussian } from '../test-support/synthetic-pump.js';
import { MIN_PEAKS, tailThreshold } from './tail-threshold.js';

// The GPD fit and the risk per window are SPOT's, tested in model/spot.test.ts; here what tailThreshold
// itself does with them.

describe('tailThreshold: the quantile from the scores', () => {
  it('Exponential(1): z at q = 1e-4 within 5% of −ln 1e-4 = 9.21', () => {
    // 2000 peaks; extrapolating a factor 200 beyond t, z's standard error is about 3% (mostly γ's, ±0.022).
    expect(Math.abs(tailThreshold(draw(100_000, gpdSampler(11, 0, 1)), 1e-4)! / -Math.log(1e-4) - 1)).toBeLessThan(0.05);
  });

  it('GPD(γ = 0.2, σ = 1): z within 10% of the true quantile 26.55', () => {
    // Above t the excesses are GPD(0.2, 1 + 0.2 t), the same shape; the true 1 − 1e-4 quantile is
    // (1/0.2)(1e-4^−0.2 − 1) = 26.548. Heavy tails extrapolate with more spread (about 4% here).
    expect(Math.abs(tailThreshold(draw(100_000, gpdSampler(12, 0.2, 1)), 1e-4)! / 26.548 - 1)).toBeLessThan(0.1);
  });

  it('Gaussian: z at q = 1e-3 within 5% of 3.09', () => {
    expect(Math.abs(tailThreshold(draw(100_000, gaussian(13)), 1e-3)! / GAUSSIAN_Q3 - 1)).toBeLessThan(0.05);
  });

  it('skips non-finite scores (unscored windows)', () => {
    const values = draw(1000, gaussian(15));
    expect(tailThreshold([Number.NaN, ...values, Infinity], 1e-3)).toBe(tailThreshold(values, 1e-3));
  });
});

describe('tailThreshold: windows that are not normal in a training taken as normal', () => {
  // 3,000 Exponential(1) scores: 60 peaks over t ≈ 3.9; the true 1 − 1e-4 quantile is 9.21.
  const clean = draw(3_000, gpdSampler(21, 0, 1));

  it('sets aside three glitches (scores 10⁶ times the tail) and reads the threshold of the rest', () => {
    const glitched = clean.map((x, i) => (i % 1_000 === 500 ? 1e6 * (1 + i / 1_000) : x));
    // Fitted with them, the GPD's shape made the threshold thousands.
    const threshold = tailThreshold(glitched, 1e-4)!;
    expect(threshold).toBeGreaterThan(7);
    expect(threshold).toBeLessThan(12);
    // The rest's own threshold, with the three windows they replaced dropped rather than set aside.
    const rest = clean.filter((_, i) => i % 1_000 !== 500);
    expect(Math.abs(threshold / tailThreshold(rest, 1e-4)! - 1)).toBeLessThan(0.02);
  });

  it('keeps the top of a tail as heavy as the rest says (GPD γ = 0.4: its largest scores are no outliers)', () => {
    // 3,000 GPD(0.4, 1) scores: their largest is ~40–80 × the median, yet what the peaks below predict.
    const heavy = draw(3_000, gpdSampler(22, 0.4, 1));
    // The threshold of every peak, computed here from the fit alone: not one of them was set aside.
    const t = quantile(heavy, 0.98);
    const peaks = heavy.filter((x) => x > t).map((x) => x - t);
    const { gamma, sigma } = fitGpd(peaks);
    const everyPeak = t + (sigma / gamma) * (((1e-4 * heavy.length) / peaks.length) ** -gamma - 1);
    expect(tailThreshold(heavy, 1e-4)).toBeCloseTo(everyPeak, 9);
    // Taking the six largest out (a tenth of the 60 peaks, the most that may be set aside) would have lowered it by a fifth and more.
    const top = [...heavy].sort((a, b) => b - a).slice(0, 6);
    expect(everyPeak).toBeGreaterThan(1.2 * tailThreshold(heavy.filter((x) => !top.includes(x)), 1e-4)!);
  });

  it('sets aside no more than a tenth of the peaks: a cluster of 30 high windows in 3,000 is part of the tail', () => {
    const cluster = clean.map((x, i) => (i < 30 ? 40 + i : x));
    // Thirty windows at 40–69 are half the 60 peaks: the threshold covers them.
    expect(tailThreshold(cluster, 1e-4)!).toBeGreaterThan(69);
  });
});

describe('tailThreshold: edge cases', () => {
  it(`has no tail to read with fewer than ${MIN_PEAKS} scores above the level quantile, or many tied at the top`, () => {
    const ramp = (count: number): number[] => Array.from({ length: count }, (_, i) => i + 1);
    // 400 values: t = 392.02 (type 7: h = 0.98·399), 8 above it. 500 values: t = 490.02, 10 above.
    expect(tailThreshold(ramp(400), 1e-3)).toBeNull();
    expect(tailThreshold(ramp(500), 1e-3)).toBeGreaterThan(490.02);
    expect(tailThreshold([], 1e-3)).toBeNull();
    // 3 % of 1000 scores tie at the top: the 98 % quantile is that value and nothing lies above it.
    expect(tailThreshold([...ramp(970), ...Array.from({ length: 30 }, () => 5000)], 1e-3)).toBeNull();
  });

  it('is no threshold at a risk of 1 or more, and refuses a risk or level out of range', () => {
    const values = draw(1000, gaussian(16));
    expect(tailThreshold(values, 1)).toBeNull();
    expect(() => tailThreshold(values, 0)).toThrow(/risk q/);
    expect(() => tailThreshold(values, 1e-3, 1)).toThrow(/level/);
  });

  // 980 zeros and 20 ones: t = 0 + 0.02·(1 − 0) = 0.02 (h = 0.98·999 = 979.02), 20 peaks of 0.98, n = 1000.
  const twoLevels = [...Array.from({ length: 980 }, () => 0), ...Array.from({ length: 20 }, () => 1)];

  it('all peaks equal: the exponential with σ = the common excess, z = t − σ ln(q n/N_t)', () => {
    // q n / N_t = 1e-3·1000/20 = 0.05: z = 0.02 + 0.98·ln 20 = 2.9558.
    expect(tailThreshold(twoLevels, 1e-3)).toBeCloseTo(0.02 + 0.98 * Math.log(20), 12);
  });

  it('q n/N_t ≥ 1: the threshold is t', () => {
    expect(tailThreshold(twoLevels, 0.05)).toBeCloseTo(0.02, 12); // q n/N_t = 0.05·1000/20 = 2.5
  });
});
