import { describe, expect, it } from 'vitest';
import { gaussian } from '../test-support/synthetic-pump.js';
import { qLimit } from './q-limit.js';

/** The share of `draws` Gaussian windows whose Q = Σ λⱼ zⱼ² exceeds `limit`: Q's own distribution, sampled. */
function exceedance(lambdas: readonly number[], limit: number, draws: number, seed: number): number {
  const rand = gaussian(seed);
  let above = 0;
  for (let n = 0; n < draws; n++) {
    let q = 0;
    for (const l of lambdas) q += l * rand() ** 2;
    if (q > limit) above++;
  }
  return above / draws;
}

describe('the Q limit', () => {
  it('is λ·χ²_m at α, to within Wilson–Hilferty, when the m left-out eigenvalues are all λ', () => {
    // Equal eigenvalues give h₀ = 1/3: the formula becomes the Wilson–Hilferty cube-root approximation of χ²_m.
    // χ²_m's upper quantiles from the NIST/SEMATECH e-Handbook §1.3.6.7.4: 16.266, 20.090, 45.315.
    for (const [m, alpha, chiSquare] of [[3, 1e-3, 16.266], [8, 1e-2, 20.09], [20, 1e-3, 45.315]] as const) {
      expect(Math.abs(qLimit(new Array<number>(m).fill(0.4), alpha) / (0.4 * chiSquare) - 1)).toBeLessThan(0.02);
    }
  });

  it('is exactly λ·χ²₁ at α for one left-out eigenvalue λ', () => {
    // χ²₁'s upper 10⁻³ quantile, 10.827566170662733 (SciPy 1.17, scipy.stats.chi2.isf; 10.828 in NIST's table).
    expect(qLimit([0.7], 1e-3)).toBeCloseTo(0.7 * 10.827566170662733, 9);
  });

  it('is exceeded by about a share α of Gaussian windows for unequal eigenvalues, on the safe side', () => {
    // An approximation: sampled with 4 million windows it gives 0.79 α here.
    const lambdas = [0.9, 0.5, 0.3, 0.1, 0.05];
    const share = exceedance(lambdas, qLimit(lambdas, 0.01), 200_000, 1);
    expect(share).toBeGreaterThan(0.006);
    expect(share).toBeLessThan(0.011);
  });

  it('takes the power\'s limit, log Q normal, where one left-out eigenvalue towers over many small ones (h₀ ≤ 0)', () => {
    const lambdas = [1, ...new Array<number>(10).fill(0.1)];
    // θ₁ = 2, θ₂ = 1.1, θ₃ = 1.01: h₀ = 1 − 2·2·1.01/(3·1.21) < 0. θ₁·exp(c√(2θ₂)/θ₁ − θ₂/θ₁²) with
    // c = 2.3263478740 (the normal upper 1 % point), evaluated apart from this code (Python 3, SciPy 1.17).
    const limit = qLimit(lambdas, 0.01);
    expect(limit).toBeCloseTo(8.528495248374364, 8);
    const share = exceedance(lambdas, limit, 200_000, 2);
    expect(share).toBeGreaterThan(0.004);
    expect(share).toBeLessThan(0.01);
  });

  it('refuses a residual of nothing and an α outside (0, ½)', () => {
    expect(() => qLimit([0, 0], 0.01)).toThrow(/all 0/);
    expect(() => qLimit([1], 0.7)).toThrow(/alpha/);
  });
});
