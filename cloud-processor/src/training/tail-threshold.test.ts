import { describe, expect, it } from 'vitest';
import { gaussian } from '../test-support/synthetic-pump.js';
import { fitGpd, MIN_PEAKS, perWindowRisk, tailThreshold } from './tail-threshold.js';

/** Seeded uniform numbers in [0, 1) (mulberry32). */
function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let r = Math.imul(state ^ (state >>> 15), 1 | state);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded GPD(γ, σ) draws by inverting the CDF: y = (σ/γ)((1 − u)^(−γ) − 1); γ = 0 is Exponential(1/σ). */
function gpdSampler(seed: number, gamma: number, sigma: number): () => number {
  const u = uniform(seed);
  return () => (gamma === 0 ? -sigma * Math.log(1 - u()) : (sigma / gamma) * ((1 - u()) ** -gamma - 1));
}

const draw = (count: number, next: () => number): number[] => Array.from({ length: count }, next);

/** The textbook GPD log-likelihood, written out independently of tail-threshold.ts. */
function gpdLogLikelihood(peaks: readonly number[], gamma: number, sigma: number): number {
  return peaks.reduce((sum, y) => sum - Math.log(sigma) - (1 + 1 / gamma) * Math.log(1 + (gamma * y) / sigma), 0);
}

/** The standard normal 1 − 1e-3 quantile (tables). */
const GAUSSIAN_Q3 = 3.090232;

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
