import { describe, expect, it } from 'vitest';
import { gaussian } from '../test-support/synthetic-pump.js';
import { chiSquareUpperQuantile } from './chi-square.js';
import { covarianceOf, meanOf } from './linalg.js';
import { robustCovariance } from './robust-covariance.js';
import { fitRobustT2 } from './robust-t2.js';

/** 300 windows of two correlated features around (10, 20), then 60 from a start-up far from them. */
function contaminated(seed: number): { rows: number[][]; clean: number[][] } {
  const rand = gaussian(seed);
  const clean = Array.from({ length: 300 }, () => {
    const u = rand();
    return [10 + u, 20 + 0.8 * u + 0.6 * rand()];
  });
  const startUp = Array.from({ length: 60 }, () => [4 + 0.5 * rand(), 30 + 0.5 * rand()]);
  return { rows: [...clean, ...startUp], clean };
}

describe('robust covariance', () => {
  it('describes the steady windows and leaves a start-up out, where the classical estimate covers it', () => {
    const { rows, clean } = contaminated(1);
    const ridge = [0, 0];
    const robust = robustCovariance(rows, 2, { keepFraction: 0.5, cSteps: 10, reweightQuantile: 0.975, ridge });
    const classical = robustCovariance(rows, 2, { keepFraction: 1, cSteps: 0, reweightQuantile: 0.975, ridge });
    const cleanMean = meanOf(clean, 2);
    const cleanCov = covarianceOf(clean, cleanMean, 2);
    expect(Math.abs(robust.location[0]! - 10)).toBeLessThan(0.2);
    expect(Math.abs(robust.location[1]! - 20)).toBeLessThan(0.2);
    expect(classical.location[0]!).toBeLessThan(9.3); // pulled towards the start-up at 4
    // Reweighting at χ²₂ 0.975 keeps ~97.5% of the steady windows and none of the start-up.
    expect(robust.inliers).toBeGreaterThan(280);
    expect(robust.inliers).toBeLessThanOrEqual(300);
    // Its covariance is the steady one (corrected for the trimming), not the inflated classical one.
    for (const k of [0, 3]) {
      expect(robust.covariance[k]!).toBeGreaterThan(0.8 * cleanCov[k]!);
      expect(robust.covariance[k]!).toBeLessThan(1.2 * cleanCov[k]!);
      expect(classical.covariance[k]!).toBeGreaterThan(3 * cleanCov[k]!);
    }
  });
});

describe('robust covariance on clean normal data', () => {
  it('matches the sample covariance: the trimming at the reweighting cut is corrected for', () => {
    // Trimming 2-D normal data at χ²₂ 0.975 keeps points whose covariance is P(χ²₄ ≤ 7.378)/0.975 = 0.905
    // of the true one; uncorrected, every variance below would be ~10 % short.
    const rand = gaussian(9);
    const rows = Array.from({ length: 20_000 }, () => {
      const u = rand();
      return [10 + u, 20 + 0.8 * u + 0.6 * rand()];
    });
    const sample = covarianceOf(rows, meanOf(rows, 2), 2);
    const robust = robustCovariance(rows, 2, { keepFraction: 0.5, cSteps: 10, reweightQuantile: 0.975, ridge: [0, 0] });
    for (const k of [0, 1, 3]) expect(robust.covariance[k]! / sample[k]!).toBeCloseTo(1, 1);
    for (const k of [0, 3]) expect(Math.abs(robust.covariance[k]! / sample[k]! - 1)).toBeLessThan(0.04);
  });
});

describe('fitRobustT2', () => {
  it('stores the χ²_d threshold at p, the level floor on the diagonal and the fit record', () => {
    const { clean } = contaminated(2);
    const noFloor = fitRobustT2(['x.mean', 'y.mean'], clean, { rho: 0 });
    const floored = fitRobustT2(['x.mean', 'y.mean'], clean, { rho: 0.1 });
    expect(noFloor.threshold).toBeCloseTo(chiSquareUpperQuantile(1e-3, 2), 12);
    expect(noFloor.threshold).toBeCloseTo(13.8155, 3);
    expect(floored).toMatchObject({ p: 1e-3, rho: 0.1, tauMs: 600_000, featureNames: ['x.mean', 'y.mean'] });
    // ρ·|level| = 1 and 2: variances grow by 1 and 4, so the precision of x shrinks markedly.
    expect(floored.precision[0]![0]!).toBeLessThan(0.6 * noFloor.precision[0]![0]!);
    expect(floored.fit.windows).toBe(300);
    expect(noFloor.fit.trainingAbove).toBeLessThanOrEqual(3);
  });
});
