import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Moments } from './moments.js';
import { statisticsOf } from './sensor-stats.js';
import type { WindowStatistics } from './sensor-stats.js';
import { seededRandom, twoPassStatistics } from './test-support/two-pass.js';

function accumulate(values: readonly number[]): Moments {
  const m = new Moments();
  for (const x of values) m.add(x);
  return m;
}

/** Relative closeness, with an absolute floor for statistics that are (near) zero. */
function expectCloseStats(actual: WindowStatistics, expected: WindowStatistics, rel: number, shapeAbs: number): void {
  expect(actual.count).toBe(expected.count);
  expect(actual.min).toBe(expected.min);
  expect(actual.max).toBe(expected.max);
  for (const key of ['mean', 'variance', 'std', 'rms', 'peakToPeak', 'crestFactor'] as const) {
    expect(Math.abs(actual[key] - expected[key]), key).toBeLessThanOrEqual(rel * Math.abs(expected[key]));
  }
  expect(Math.abs(actual.skewness - expected.skewness), 'skewness').toBeLessThanOrEqual(shapeAbs);
  expect(Math.abs(actual.kurtosis - expected.kurtosis), 'kurtosis').toBeLessThanOrEqual(shapeAbs);
}

function expectAllFinite(stats: WindowStatistics): void {
  for (const [key, value] of Object.entries(stats)) expect(Number.isFinite(value), key).toBe(true);
}

describe('online moments vs two-pass', () => {
  it('stays exact at a 1e9 offset with 1e-3 noise, where the naive sum of squares collapses', () => {
    const random = seededRandom(7);
    const values = Array.from({ length: 10_000 }, () => 1e9 + (random() - 0.5) * 2e-3);
    const online = statisticsOf(accumulate(values));
    const reference = twoPassStatistics(values);
    expectCloseStats(online, reference, 1e-9, 1e-9);
    expect(online.kurtosis).toBeCloseTo(1.8, 1); // uniform noise: kurtosis 9/5
    // The adversary is real: E[x²] − E[x]² loses every digit of a 1e-7 variance.
    const naive = values.reduce((s, x) => s + x * x, 0) / values.length - reference.mean ** 2;
    expect(Math.abs(naive - reference.variance)).toBeGreaterThan(100 * reference.variance);
  });

  it.each([
    ['huge', 1e30],
    ['tiny', 1e-30],
  ])('matches on %s magnitudes (scale %d)', (_name, scale) => {
    const random = seededRandom(11);
    // Exponential-ish, skewed data: the shape statistics are non-trivial.
    const values = Array.from({ length: 2_000 }, () => scale * -Math.log(1 - random()));
    expectCloseStats(statisticsOf(accumulate(values)), twoPassStatistics(values), 1e-9, 1e-9);
  });

  it('matches on alternating signs', () => {
    const values = Array.from({ length: 1_001 }, (_, i) => (i % 2 === 0 ? 3 : -3) + i * 1e-3);
    const online = statisticsOf(accumulate(values));
    expectCloseStats(online, twoPassStatistics(values), 1e-9, 1e-9);
    expect(online.mean).toBeCloseTo(0.5 + 3 / 1001, 9);
  });

  it.each([
    ['a single sample', [-4]],
    ['a constant signal at 1e9', Array.from({ length: 1000 }, () => 1e9 + 0.1)],
  ])('matches on %s', (_name, values) => {
    expectCloseStats(statisticsOf(accumulate(values)), twoPassStatistics(values), 1e-12, 0);
  });

  it('defines the degenerate cases: one sample, constant, all-zero, empty', () => {
    expect(statisticsOf(accumulate([-4]))).toEqual({
      count: 1, mean: -4, variance: 0, std: 0, min: -4, max: -4, rms: 4,
      peakToPeak: 0, skewness: 0, kurtosis: 0, crestFactor: 1,
    });
    const constant = statisticsOf(accumulate(Array.from({ length: 1000 }, () => 1e9 + 0.1)));
    expect([constant.variance, constant.skewness, constant.kurtosis, constant.crestFactor]).toEqual([0, 0, 0, 1]);
    const zeros = statisticsOf(accumulate([0, 0, 0]));
    expect([zeros.rms, zeros.crestFactor, zeros.kurtosis]).toEqual([0, 0, 0]);
    expect(statisticsOf(new Moments())).toMatchObject({ count: 0, mean: 0, min: 0, max: 0, kurtosis: 0 });
  });

  it('treats a spread below the rounding resolution of the values as zero variance', () => {
    const ulp = 2 ** -23; // one ulp at 1e9 is 2^-23 ≈ 1.2e-7: adjacent doubles
    const stats = statisticsOf(accumulate([1e9, 1e9 + ulp, 1e9, 1e9 + ulp]));
    expect(stats.skewness).toBe(0);
    expect(stats.variance).toBe(0);
  });

  it('never emits NaN or Infinity, even where powers overflow or underflow', () => {
    for (const values of [[1e200, -1e200, 5e199], [1e300, 1e300, -1e300], [1e-200, 3e-200, -2e-200], [Number.MAX_VALUE, -Number.MAX_VALUE]]) {
      expectAllFinite(statisticsOf(accumulate(values)));
    }
  });

  it('gives normal data a kurtosis near 3 (non-excess)', () => {
    const random = seededRandom(3);
    const values = Array.from({ length: 50_000 }, () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
    expect(statisticsOf(accumulate(values)).kurtosis).toBeCloseTo(3, 1);
  });
});

describe('pairwise merge', () => {
  const sample = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 60 });

  it('merge(a, b) equals accumulating a ++ b', () => {
    fc.assert(
      fc.property(sample, sample, fc.constantFrom(0, 1e9), (a, b, offset) => {
        const left = accumulate(a.map((x) => x + offset));
        left.merge(accumulate(b.map((x) => x + offset)));
        const whole = accumulate([...a, ...b].map((x) => x + offset));
        expect(left.n).toBe(whole.n);
        expect(left.min).toBe(whole.min);
        expect(left.max).toBe(whole.max);
        const spread = whole.n > 0 ? Math.max(whole.max - whole.min, 1) : 1;
        const tol = 1e-9;
        expect(Math.abs(left.mean - whole.mean)).toBeLessThanOrEqual(tol * (spread + Math.abs(whole.mean)));
        expect(Math.abs(left.m2 - whole.m2)).toBeLessThanOrEqual(tol * whole.n * spread ** 2 + 1e-6);
        expect(Math.abs(left.m3 - whole.m3)).toBeLessThanOrEqual(tol * whole.n * spread ** 3 + 1e-6);
        expect(Math.abs(left.m4 - whole.m4)).toBeLessThanOrEqual(tol * whole.n * spread ** 4 + 1e-6);
      }),
      { numRuns: 500 },
    );
  });

  it('merging into or from an empty accumulator is a copy', () => {
    const filled = accumulate([1, 2, 4]);
    const intoEmpty = new Moments();
    intoEmpty.merge(filled);
    expect(intoEmpty).toEqual(filled);
    filled.merge(new Moments());
    expect(filled).toEqual(accumulate([1, 2, 4]));
  });
});
