import { describe, expect, it } from 'vitest';
import { pcaFileSchema, type PcaFile } from '../model/artifact-schemas.js';
import { pcaModelOf, pcaScore, pcaWorkspace, type PcaModel } from '../model/pca.js';
import { gaussian } from '../test-support/synthetic-pump.js';
import { TrainingDataError } from './derive-contract.js';
import { fUpperQuantile } from './f-distribution.js';
import { fitPca, t2LimitOf } from './pca.js';

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

/** Six features of two loads and their own noise, around 0. */
function sixFeatureRows(count: number, seed: number): number[][] {
  const rand = gaussian(seed);
  return Array.from({ length: count }, () => {
    const [u, v] = [rand(), rand()];
    return [u, u + 0.5 * v, v, 0.7 * u - 0.7 * v, u + v, -v].map((x) => x + 0.3 * rand());
  });
}
const SIX = ['s1.mean', 's2.mean', 's3.mean', 's4.mean', 's5.mean', 's6.mean'];

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
    // α = 1 − √(1 − 10⁻³) = 5.00125·10⁻⁴; T²: (n² − 1)/(n(n − 1))·F_{1,n−1}(α) at n = 3000, from SciPy 1.17
    // (scipy.stats.f.isf): 12.1457777178 (χ²₁'s 12.1152 for known parameters).
    expect(file.t2Limit).toBeCloseTo(12.145777717829391, 8);
    // Q: Jackson–Mudholkar's power form from the two left-out eigenvalues, with the normal quantile at α from
    // SciPy (norm.isf: 3.29045636870716), written out here rather than through q-limit.ts's logarithm.
    const [t1, t2, t3] = [1, 2, 3].map((i) => file.eigenvalues[1]! ** i + file.eigenvalues[2]! ** i) as [number, number, number];
    const h0 = 1 - (2 * t1 * t3) / (3 * t2 * t2);
    expect(h0).toBeGreaterThan(0);
    const bracket = (3.2904563687071646 * Math.sqrt(2 * t2 * h0 * h0)) / t1 + 1 + (t2 * h0 * (h0 - 1)) / (t1 * t1);
    expect(file.qLimit).toBeCloseTo(t1 * Math.pow(bracket, 1 / h0), 10);
    expect(file.eigenvalues.reduce((a, b) => a + b, 0)).toBeCloseTo(3, 10);
    expect(file.fit.trainingAbove).toBeLessThanOrEqual(15);
    expect(file.fit.featuresAlone).toBeUndefined();
    expect(file.fit.fewWindows).toBeUndefined();
    expect(file.fit.zeroThroughout).toBeUndefined();
  });

  it("splits T² into non-negative terms that sum to it with two components or more", () => {
    const rows = sixFeatureRows(5_000, 5);
    const fitted = fitPca(SIX, rows);
    expect(fitted.components.length).toBeGreaterThanOrEqual(2);
    const two = pcaModelOf(fitted);
    // Windows three times as far from the location as training's: T² decides in about a third of them.
    const decidedByT2 = sixFeatureRows(200, 6)
      .map((x) => score(two, x.map((v, j) => fitted.location[j]! + 3 * (v - fitted.location[j]!))))
      .filter((s) => s.score === s.t2 / two.t2Limit);
    expect(decidedByT2.length).toBeGreaterThan(30);
    for (const s of decidedByT2) {
      expect(Math.min(...s.terms)).toBeGreaterThanOrEqual(0);
      expect(s.terms.reduce((a, b) => a + b, 0) / s.t2).toBeCloseTo(1, 12);
    }
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
    // p = 1 % so 20,000 windows hold ~200 exceedances.
    const fitted = fitPca(SIX, sixFeatureRows(5_000, 2), { p: 0.01 });
    expect(fitted.components.length).toBeGreaterThanOrEqual(2);
    expect(fitted.components.length).toBeLessThanOrEqual(5);
    const healthy = pcaModelOf(fitted);
    const work = pcaWorkspace(healthy);
    const share = sixFeatureRows(20_000, 3).filter((x) => pcaScore(healthy, x, work).score > 1).length / 20_000;
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

  it('says when it had fewer independent windows than its limits are set for (20 a feature)', () => {
    expect(fitPca(NAMES, training.slice(0, 50)).fit.fewWindows).toEqual({ independent: 50, advised: 60 });
    expect(fitPca(NAMES, training.slice(0, 300), { independentWindows: 30 }).fit.fewWindows).toEqual({ independent: 30, advised: 60 });
    expect(fitPca(NAMES, training.slice(0, 60)).fit.fewWindows).toBeUndefined();
  });

  it('names the features that read 0 in every training window, as robust-t2 does', () => {
    const spare = fitPca([...NAMES, 'spare.mean'], training.map((r) => [...r, 0]));
    expect(spare.fit.zeroThroughout).toEqual(['spare.mean']);
    expect(() => pcaFileSchema.parse(spare)).not.toThrow();
  });

  it('refuses features that are exact linear functions of one another: no residual is left for Q', () => {
    // b = −a exactly, in pairs ±a so the mean is exactly 0 and the level floor adds nothing: the correlation
    // matrix has eigenvalues 2 and (but for the 10⁻¹² ridge over a variance of ~100) 0.
    const rand = gaussian(8);
    const mirrored = Array.from({ length: 250 }, () => 10 * rand()).flatMap((a) => [[a, -a], [-a, a]]);
    expect(() => fitPca(['a.mean', 'b.mean'], mirrored)).toThrow(TrainingDataError);
    expect(() => fitPca(['a.mean', 'b.mean'], mirrored)).toThrow(/collinear/);
  });
});

describe('the T² limit', () => {
  it("takes F's upper quantiles as the tables give them", () => {
    // NIST/SEMATECH e-Handbook of Statistical Methods §1.3.6.7.3 (upper critical values of the F distribution),
    // to the three decimals printed there.
    for (const [alpha, dof1, dof2, table] of [
      [0.05, 1, 10, 4.965],
      [0.05, 2, 10, 4.103],
      [0.01, 2, 10, 7.559],
      [0.05, 5, 20, 2.711],
      [0.01, 3, 30, 4.51],
    ] as const) {
      expect(fUpperQuantile(alpha, dof1, dof2)).toBeCloseTo(table, 3);
    }
    // F(2, m) has a closed form, P(F > f) = (1 + 2f/m)^(−m/2): checked at dof that are no table's.
    for (const [alpha, m] of [[5e-4, 7.5], [1e-6, 98], [0.2, 2998.25]] as const) {
      expect(fUpperQuantile(alpha, 2, m)).toBeCloseTo((m / 2) * (alpha ** (-2 / m) - 1), 8);
    }
  });

  it("is Tracy–Young–Mason's k(n² − 1)/(n(n − k))·F_{k,n−k}(α), tending to χ²_k as n grows", () => {
    // From SciPy 1.17 (scipy.stats.f.isf, chi2.isf).
    const alpha = 1 - Math.sqrt(1 - 1e-3);
    expect(t2LimitOf(alpha, 2, 100)).toBeCloseTo(16.777588409473463, 8);
    expect(t2LimitOf(0.01, 3, 12.5)).toBeCloseTo(26.499171918198023, 8);
    expect(t2LimitOf(alpha, 2, 1e7)).toBeCloseTo(15.2013047314801, 4);
    // n ≤ k (only where each feature is judged by its own spread): χ²_k.
    expect(t2LimitOf(alpha, 2, 2)).toBeCloseTo(15.2013047314801, 8);
  });
});
