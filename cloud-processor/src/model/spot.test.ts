import { describe, expect, it } from 'vitest';
import { draw, GAUSSIAN_Q3, gpdSampler } from '../test-support/seeded-samplers.js';
import { gaussian } from '../test-support/synthetic-pump.js';
import { fitGpd, initSpot, MIN_PEAKS, NO_CEILING, perWindowRisk, spotThreshold, stepSpot, truncatedLogLikelihood, type SpotState } from './spot.js';

/** The textbook GPD log-likelihood, written out independently of spot.ts. */
function gpdLogLikelihood(peaks: readonly number[], gamma: number, sigma: number): number {
  return peaks.reduce((sum, y) => sum - Math.log(sigma) - (1 + 1 / gamma) * Math.log(1 + (gamma * y) / sigma), 0);
}

describe('perWindowRisk', () => {
  it('is the false alerts per day spread over the windows of a day', () => {
    // 1 per day at 10 s windows: 8640 windows a day.
    expect(perWindowRisk(1, 10_000)).toBeCloseTo(1 / 8640, 15);
    expect(perWindowRisk(0.5, 60_000)).toBeCloseTo(0.5 / 1440, 15);
  });
});

describe('fitGpd (Grimshaw)', () => {
  it('lands on the maximum of the textbook likelihood', () => {
    for (const [seed, gamma] of [
      [1, 0.3],
      [2, -0.2],
    ] as const) {
      const peaks = draw(2000, gpdSampler(seed, gamma, 1));
      const fit = fitGpd(peaks);
      const best = gpdLogLikelihood(peaks, fit.gamma, fit.sigma);
      // Every nearby (γ, σ) is less likely: a maximum, not merely a stationary point.
      for (const [dg, ds] of [
        [1e-3, 0],
        [-1e-3, 0],
        [0, 1e-3],
        [0, -1e-3],
        [1e-3, 1e-3],
        [-1e-3, -1e-3],
        [1e-3, -1e-3],
        [-1e-3, 1e-3],
      ] as const) {
        expect(gpdLogLikelihood(peaks, fit.gamma + dg, fit.sigma * (1 + ds))).toBeLessThan(best);
      }
      expect(fit.gamma).toBeCloseTo(gamma, 1);
    }
  });

  it('fits equal peaks with the exponential of their value (the only stationary point)', () => {
    const fit = fitGpd(Array.from({ length: 20 }, () => 0.7));
    expect(fit.gamma).toBe(0);
    expect(fit.sigma).toBeCloseTo(0.7, 12);
  });
});

describe('truncatedLogLikelihood', () => {
  it('is ln f(y) − ln F(c), worked by hand', () => {
    // γ = 0, σ = 1, y = 1, c = 2: −1 − ln(1 − e^−2).
    expect(truncatedLogLikelihood([1], [2], 0, 1)).toBeCloseTo(-1 - Math.log(1 - Math.exp(-2)), 12);
    // γ = 0.5, σ = 1, y = 1, c = 2: f = 1.5^−3, F = 1 − 2^−2 = 0.75.
    expect(truncatedLogLikelihood([1], [2], 0.5, 1)).toBeCloseTo(-3 * Math.log(1.5) - Math.log(0.75), 12);
    // No ceiling: the plain likelihood.
    const peaks = draw(50, gpdSampler(3, 0.2, 1));
    const none = peaks.map(() => NO_CEILING);
    expect(truncatedLogLikelihood(peaks, none, 0.2, 1.1)).toBeCloseTo(gpdLogLikelihood(peaks, 0.2, 1.1), 9);
    expect(truncatedLogLikelihood(peaks, none, -0.2, 1.1)).toBeCloseTo(gpdLogLikelihood(peaks, -0.2, 1.1), 9);
    // A peak beyond the endpoint σ/|γ| = 2, and γ ≤ −1, are impossible.
    expect(truncatedLogLikelihood([3], [NO_CEILING], -0.5, 1)).toBe(-Infinity);
    expect(truncatedLogLikelihood([0.1], [NO_CEILING], -1, 1)).toBe(-Infinity);
  });
});

describe('initSpot: the quantile from the calibration', () => {
  it('Exponential(1): z at q = 1e-4 within 5% of −ln 1e-4 = 9.21, γ near 0', () => {
    const state = initSpot(draw(100_000, gpdSampler(11, 0, 1)), { q: 1e-4 });
    // 2000 peaks; extrapolating a factor 200 beyond t, z's standard error is about 3% (mostly γ's, ±0.022).
    expect(Math.abs(state.threshold / -Math.log(1e-4) - 1)).toBeLessThan(0.05);
    expect(Math.abs(state.gamma)).toBeLessThan(0.05);
    expect(state.peaks).toHaveLength(2000);
    expect(state.observations).toBe(100_000);
  });

  it('GPD(γ = 0.2, σ = 1): γ within ±0.05, z within 10% of the true quantile 26.55', () => {
    // Above t the excesses are GPD(0.2, 1 + 0.2 t), the same shape; the true 1 − 1e-4 quantile is
    // (1/0.2)(1e-4^−0.2 − 1) = 26.548. Heavy tails extrapolate with more spread (about 4% here).
    const state = initSpot(draw(100_000, gpdSampler(12, 0.2, 1)), { q: 1e-4 });
    expect(Math.abs(state.gamma - 0.2)).toBeLessThan(0.05);
    expect(Math.abs(state.threshold / 26.548 - 1)).toBeLessThan(0.1);
  });

  it('Gaussian: z at q = 1e-3 within 5% of 3.09', () => {
    const state = initSpot(draw(100_000, gaussian(13)), { q: 1e-3 });
    expect(Math.abs(state.threshold / GAUSSIAN_Q3 - 1)).toBeLessThan(0.05);
  });

  it('keeps the newest maxPeaks peaks and the observations in proportion', () => {
    const values = draw(100_000, gaussian(14));
    const state = initSpot(values, { q: 1e-3, maxPeaks: 500 });
    // Type-7 quantile at 0.98 of 100 000 distinct values: 2000 lie above it; keeping 500 keeps a quarter of n.
    expect(state.peaks).toHaveLength(500);
    expect(state.observations).toBe(25_000);
    const newest = values.filter((x) => x > state.tail).slice(-500);
    expect(state.peaks).toEqual(newest.map((x) => x - state.tail));
    expect(state.ceilings.every((c) => c === NO_CEILING)).toBe(true);
  });

  it('skips non-finite calibration values (unscored windows)', () => {
    const values = draw(1000, gaussian(15));
    expect(initSpot([Number.NaN, ...values, Infinity], { q: 1e-3 })).toEqual(initSpot(values, { q: 1e-3 }));
  });
});

describe('initSpot: edge cases', () => {
  it(`refuses a calibration with fewer than ${MIN_PEAKS} values above the level quantile`, () => {
    const ramp = (count: number): number[] => Array.from({ length: count }, (_, i) => i + 1);
    // 400 values: t = 392.02 (type 7: h = 0.98·399), 8 above it. 500 values: t = 490.02, 10 above.
    expect(() => initSpot(ramp(400), { q: 1e-3 })).toThrow(/8 of 400 .* at least 10/);
    expect(initSpot(ramp(500), { q: 1e-3 }).peaks).toHaveLength(10);
    expect(() => initSpot([], { q: 1e-3 })).toThrow(RangeError);
  });

  it('refuses options out of range', () => {
    const values = draw(1000, gaussian(16));
    expect(() => initSpot(values, { q: 0 })).toThrow(/risk q/);
    expect(() => initSpot(values, { q: 1 })).toThrow(/risk q/);
    expect(() => initSpot(values, { q: 1e-3, level: 1 })).toThrow(/level/);
    expect(() => initSpot(values, { q: 1e-3, maxPeaks: 9 })).toThrow(/maxPeaks/);
  });

  // 980 zeros and 20 ones: t = 0 + 0.02·(1 − 0) = 0.02 (h = 0.98·999 = 979.02), 20 peaks of 0.98, n = 1000.
  const twoLevels = [...Array.from({ length: 980 }, () => 0), ...Array.from({ length: 20 }, () => 1)];

  it('all peaks equal: the exponential with σ = the common excess, z = t − σ ln(q n/N_t)', () => {
    const state = initSpot(twoLevels, { q: 1e-3 });
    expect(state.tail).toBeCloseTo(0.02, 12);
    expect(state.gamma).toBe(0);
    expect(state.sigma).toBeCloseTo(0.98, 12);
    // q n / N_t = 1e-3·1000/20 = 0.05: z = 0.02 + 0.98·ln 20 = 2.9558.
    expect(state.threshold).toBeCloseTo(0.02 + 0.98 * Math.log(20), 12);
  });

  it('q n/N_t ≥ 1: the threshold is t, and everything above t is an anomaly that teaches nothing', () => {
    const state = initSpot(twoLevels, { q: 0.05 }); // q n/N_t = 0.05·1000/20 = 2.5
    expect(state.threshold).toBe(state.tail);
    const before = structuredClone(state);
    expect(stepSpot(state, 0.5)).toEqual({ anomalous: true, threshold: state.tail });
    expect(state).toEqual(before);
    expect(stepSpot(state, 0)).toEqual({ anomalous: false, threshold: state.tail });
    expect(state.observations).toBe(1001);
    expect(state.threshold).toBe(state.tail);
  });
});

describe('stepSpot', () => {
  it('learns a normal value below t by counting it, and a peak with its ceiling, dropping the oldest beyond maxPeaks', () => {
    const state = initSpot(draw(10_000, gaussian(17)), { q: 1e-3, maxPeaks: 200 });
    expect(state.peaks).toHaveLength(200); // 10 000 values, 200 above the 0.98 quantile
    const { tail, threshold } = state;
    const secondPeak = state.peaks[1];

    expect(stepSpot(state, tail - 1)).toEqual({ anomalous: false, threshold });
    expect(state.observations).toBe(10_001);
    expect(state.peaks).toHaveLength(200);
    expect(state.threshold).toBeCloseTo(spotThreshold(state), 12);

    const judgedAgainst = state.threshold;
    const x = (tail + judgedAgainst) / 2;
    expect(stepSpot(state, x)).toEqual({ anomalous: false, threshold: judgedAgainst });
    // 201 peaks over 10 002 observations, the oldest dropped: n = 10 002·200/201.
    expect(state.peaks).toHaveLength(200);
    expect(state.peaks[0]).toBe(secondPeak);
    expect(state.peaks.at(-1)).toBe(x - tail);
    expect(state.ceilings.at(-1)).toBe(judgedAgainst - tail);
    expect(state.observations).toBeCloseTo((10_002 * 200) / 201, 9);
  });

  it('flags a big outlier and leaves the state as it was; a non-finite value is ignored', () => {
    const state = initSpot(draw(20_000, gaussian(18)), { q: 1e-3 });
    const before = structuredClone(state);
    expect(stepSpot(state, 1e6)).toEqual({ anomalous: true, threshold: before.threshold });
    expect(state).toEqual(before);
    expect(stepSpot(state, Number.NaN)).toEqual({ anomalous: false, threshold: before.threshold });
    expect(state).toEqual(before);
  });

  it('on normal data keeps the exceedance rate near q (100 000 Gaussian values, q = 1e-3)', () => {
    const next = gaussian(19);
    const state = initSpot(draw(100_000, next), { q: 1e-3 });
    let exceedances = 0;
    for (let i = 0; i < 100_000; i++) if (stepSpot(state, next()).anomalous) exceedances++;
    // Expected 100. The count spreads by the Poisson ±10 plus the threshold's own estimation error (z
    // moves by a few hundredths with 2000 peaks, ±10% of the rate at 3 σ): measured 90–132 over six other
    // seeds. [60, 160] holds that with room and fails the paper's update, which fits the cut peaks as if
    // whole and spirals down (measured 2.3 times q over 200 000 values).
    expect(exceedances).toBeGreaterThanOrEqual(60);
    expect(exceedances).toBeLessThanOrEqual(160);
    expect(Math.abs(state.threshold / GAUSSIAN_Q3 - 1)).toBeLessThan(0.06);
  });

  it('raises the threshold as a slowly widening scale brings new peaks', () => {
    const next = gaussian(20);
    const state = initSpot(draw(20_000, next), { q: 1e-3, maxPeaks: 500 });
    const start = state.threshold;
    const length = 40_000;
    for (let i = 0; i < length; i++) stepSpot(state, (1 + i / length) * next());
    // The scale doubled, so the true quantile did (3.09 → 6.18). The threshold follows, lagging by the
    // peaks' memory: 1.3–1.9 times its start over seven seeds, where the paper's update stays put (0.94
    // times its start, measured over a 100 000-value run).
    expect(state.threshold).toBeGreaterThan(1.2 * start);
    expect(state.threshold).toBeLessThan(2 * GAUSSIAN_Q3 * 1.1);
  });
});

describe('the state is plain JSON', () => {
  it('round-trips through JSON and keeps working identically', () => {
    const next = gaussian(21);
    const state: SpotState = initSpot(draw(20_000, next), { q: 1e-3, maxPeaks: 300 });
    for (let i = 0; i < 5_000; i++) stepSpot(state, next()); // some peaks with finite ceilings
    expect(state.ceilings.some((c) => c !== NO_CEILING)).toBe(true);
    expect(state.ceilings.some((c) => c === NO_CEILING)).toBe(true);
    const copy = JSON.parse(JSON.stringify(state)) as SpotState;
    expect(copy).toEqual(state);
    for (let i = 0; i < 5_000; i++) {
      const x = 1.2 * next();
      expect(stepSpot(copy, x)).toEqual(stepSpot(state, x));
    }
    expect(copy).toEqual(state);
  });
});
