import { describe, expect, it } from 'vitest';
import { pcaFileSchema, type PcaFile } from '../model/artifact-schemas.js';
import { pcaModelOf, pcaScore, pcaWorkspace, type PcaModel } from '../model/pca.js';
import { gaussian } from '../test-support/synthetic-pump.js';
import { chiSquareUpperQuantile } from './chi-square.js';
import { fitPca } from './pca.js';
import { qLimit } from './q-limit.js';

const score = (model: PcaModel, x: readonly number[]) => {
  const s = pcaScore(model, x, pcaWorkspace(model));
  return { ...s, terms: Array.from(s.terms) };
};

/**
 * Three sensors driven by one load: a = load, b = 2·load, c = load + 5, each with its own noise (σ 0.1 against
 * the load's 1), around levels near 0 so robust-t2's level floor (1 % of the level) stays out of the way.
 */
function correlatedRows(count: number, seed: number): number[][] {
  const rand = gaussian(seed);
  return Array.from({ length: count }, () => {
    const load = rand();
    return [load + 0.1 * rand(), 2 * load + 0.1 * rand(), load + 5 + 0.1 * rand()];
  });
}
const NAMES = ['a.mean', 'b.mean', 'c.mean'];

describe('the PCA score', () => {
  // Two standardised features, one component along (1, 1)/√2 carrying λ₁ = 1.8 of the 2, the residual along
  // (1, −1)/√2 with λ₂ = 0.2; limits 4 and 0.5.
  const file: PcaFile = {
    featureNames: ['x.mean', 'y.mean'],
    location: [10, 20],
    scale: [2, 4],
    eigenvalues: [1.8, 0.2],
    components: [[Math.SQRT1_2, Math.SQRT1_2]],
    t2Limit: 4,
    qLimit: 0.5,
    p: 1e-3,
    rho: 0,
    fit: { windows: 100, inliers: 90, consistency: 1, explained: 0.9, trainingAbove: 0 },
  };
  const model = pcaModelOf(pcaFileSchema.parse(file));

  it('computes T² and Q as worked by hand', () => {
    // x = (12, 24): z = (1, 1), t = √2 along the component, nothing left: T² = 2/1.8, Q = 0.
    const along = score(model, [12, 24]);
    expect(along.t2).toBeCloseTo(2 / 1.8, 14);
    expect(along.q).toBeCloseTo(0, 14);
    expect(along.score).toBeCloseTo(2 / 1.8 / 4, 14);
    // x = (12, 16): z = (1, −1), t = 0, residual (1, −1): T² = 0, Q = 2 (4 × its limit).
    const broken = score(model, [12, 16]);
    expect(broken.t2).toBeCloseTo(0, 14);
    expect(broken.q).toBeCloseTo(2, 14);
    expect(broken.score).toBeCloseTo(4, 14);
    // x = (14, 20): z = (2, 0): t = √2, T² = 2/1.8; residual (1, −1), Q = 2: Q decides, its terms are e².
    const mixed = score(model, [14, 20]);
    expect(mixed.t2).toBeCloseTo(2 / 1.8, 14);
    expect(mixed.q).toBeCloseTo(2, 14);
    expect(mixed.terms[0]).toBeCloseTo(1, 14);
    expect(mixed.terms[1]).toBeCloseTo(1, 14);
  });

  it("splits T² into non-negative terms that sum to it, by (Pᵀ Λ^(−½) t)ⱼ²", () => {
    // z = (1, 1): Pᵀ Λ^(−½) t = (1, 1)/√1.8 · √2/√2 → each term 1/1.8.
    const along = score(model, [12, 24]);
    expect(along.terms[0]).toBeCloseTo(1 / 1.8, 14);
    expect(along.terms[1]).toBeCloseTo(1 / 1.8, 14);
    expect(along.terms[0]! + along.terms[1]!).toBeCloseTo(along.t2, 14);
  });
});

describe('fitPca', () => {
  const training = correlatedRows(3_000, 1);
  const file = fitPca(NAMES, training);
  const model = pcaModelOf(file);

  it('keeps the load as its one component and writes limits at α = 1 − √(1 − p) each', () => {
    expect(() => pcaFileSchema.parse(file)).not.toThrow();
    expect(file.components).toHaveLength(1);
    expect(file.fit.explained).toBeGreaterThan(0.9);
    // The load moves all three together: one direction, about equal weights on the standardised features.
    for (const w of file.components[0]!) expect(Math.abs(w)).toBeCloseTo(1 / Math.sqrt(3), 2);
    const alpha = 1 - Math.sqrt(1 - 1e-3);
    expect(file.t2Limit).toBeCloseTo(chiSquareUpperQuantile(alpha, 1), 12);
    expect(file.qLimit).toBeCloseTo(qLimit(file.eigenvalues.slice(1), alpha), 12);
    expect(file.eigenvalues.reduce((a, b) => a + b, 0)).toBeCloseTo(3, 10);
    expect(file.fit.trainingAbove).toBeLessThanOrEqual(15);
    expect(file.fit.featuresAlone).toBeUndefined();
  });

  it('raises Q, not T², for a fault that breaks the relation, and names the sensor', () => {
    // b 3 higher at an ordinary load: 30 × its own noise, inside the range the load gives it (2·load, σ 2).
    const broken = score(model, [0.5, 1 + 3, 5.5]);
    expect(broken.q / file.qLimit).toBeGreaterThan(3);
    expect(broken.t2 / file.t2Limit).toBeLessThan(0.5);
    expect(broken.score).toBe(broken.q / file.qLimit);
    expect(broken.terms.indexOf(Math.max(...broken.terms))).toBe(1);
    expect(broken.terms[1]! / (broken.terms[0]! + broken.terms[1]! + broken.terms[2]!)).toBeGreaterThan(0.6);
  });

  it('raises T², not Q, for a load beyond any training saw, the relations kept', () => {
    const far = score(model, [6, 12, 11]);
    expect(far.t2 / file.t2Limit).toBeGreaterThan(2);
    expect(far.q / file.qLimit).toBeLessThan(0.5);
    expect(far.score).toBe(far.t2 / file.t2Limit);
  });

  it('alarms on about a share p of healthy Gaussian windows', () => {
    // Six features of two loads and their own noise; p = 1 % so 20,000 windows hold ~200 exceedances.
    const rows = (count: number, seed: number) => {
      const rand = gaussian(seed);
      return Array.from({ length: count }, () => {
        const [u, v] = [rand(), rand()];
        return [u, u + 0.5 * v, v, 0.7 * u - 0.7 * v, u + v, -v].map((x) => x + 0.3 * rand());
      });
    };
    const names = ['s1.mean', 's2.mean', 's3.mean', 's4.mean', 's5.mean', 's6.mean'];
    const fitted = fitPca(names, rows(5_000, 2), { p: 0.01 });
    expect(fitted.components.length).toBeGreaterThanOrEqual(2);
    expect(fitted.components.length).toBeLessThanOrEqual(5);
    const healthy = pcaModelOf(fitted);
    const work = pcaWorkspace(healthy);
    const share = rows(20_000, 3).filter((x) => pcaScore(healthy, x, work).score > 1).length / 20_000;
    expect(share).toBeGreaterThan(0.005);
    expect(share).toBeLessThan(0.016);
  });

  it('keeps at least 1 component and at most d − 1, so a residual is left', () => {
    const rand = gaussian(4);
    const independent = Array.from({ length: 2_000 }, () => [rand(), rand(), rand()]);
    // Three independent features of equal spread: 90 % would take all three; the last is the residual.
    expect(fitPca(NAMES, independent).components).toHaveLength(2);
    expect(fitPca(NAMES, training, { explainedVariance: 0.01 }).components).toHaveLength(1);
    expect(() => fitPca(['a.mean'], training.map((r) => [r[0]!]))).toThrow(/at least 2 features/);
  });

  it('judges each feature by its own spread from too few windows, as robust-t2 does', () => {
    // 5 windows of 3 features: fewer than 2 a feature, no joint covariance; the correlation is the identity.
    const few = fitPca(NAMES, training.slice(0, 5));
    expect(few.fit.featuresAlone).toBe(true);
    for (const l of few.eigenvalues) expect(l).toBeCloseTo(1, 12);
  });
});
