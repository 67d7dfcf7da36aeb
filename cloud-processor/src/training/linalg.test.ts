import { describe, expect, it } from 'vitest';
import { gaussian } from '../test-support/synthetic-pump.js';
import { cholesky, covarianceOf, invertSpd, mahalanobisSq, meanOf, symmetricEigen } from './linalg.js';

/** Gauss–Jordan with partial pivoting: an inverse computed another way than through Cholesky. */
function gaussJordanInverse(a: Float64Array, d: number): number[][] {
  const m = Array.from({ length: d }, (_, i) => [...Array.from(a.subarray(i * d, (i + 1) * d)), ...Array.from({ length: d }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const pivot = m[c]![c]!;
    m[c] = m[c]!.map((v) => v / pivot);
    for (let r = 0; r < d; r++) if (r !== c) m[r] = m[r]!.map((v, j) => v - m[r]![c]! * m[c]![j]!);
  }
  return m.map((row) => row.slice(d));
}

function correlatedRows(n: number, d: number, seed: number): number[][] {
  const rand = gaussian(seed);
  return Array.from({ length: n }, () => {
    const z = Array.from({ length: d }, rand);
    // Each feature mixes its own draw with the previous feature's: a dense, well-conditioned covariance.
    return z.map((v, j) => 10 * j + v + (j > 0 ? 0.6 * z[j - 1]! : 0));
  });
}

describe('linear algebra', () => {
  const d = 6;
  const rows = correlatedRows(500, d, 5);
  const mean = meanOf(rows, d);
  const cov = covarianceOf(rows, mean, d);

  it('computes the sample covariance as Σxy/(n−1) − n/(n−1)·x̄ȳ would', () => {
    const n = rows.length;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const sxy = rows.reduce((s, r) => s + r[i]! * r[j]!, 0);
        const expected = (sxy - n * mean[i]! * mean[j]!) / (n - 1);
        expect(cov[i * d + j]!).toBeCloseTo(expected, 8);
      }
    }
  });

  it('inverts through Cholesky to the same matrix as Gauss–Jordan, and C·C⁻¹ = I', () => {
    const inv = invertSpd(cov, d);
    const reference = gaussJordanInverse(cov, d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        expect(inv[i * d + j]!).toBeCloseTo(reference[i]![j]!, 9);
        let product = 0;
        for (let k = 0; k < d; k++) product += cov[i * d + k]! * inv[k * d + j]!;
        expect(product).toBeCloseTo(i === j ? 1 : 0, 10);
      }
    }
    // D² through the precision equals |L⁻¹ r|² through the Cholesky factor of C.
    const l = cholesky(cov, d);
    const x = rows[7]!;
    const y = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = x[i]! - mean[i]!;
      for (let k = 0; k < i; k++) s -= l[i * d + k]! * y[k]!;
      y[i] = s / l[i * d + i]!;
    }
    expect(mahalanobisSq(inv, x, mean, d)).toBeCloseTo(y.reduce((s, v) => s + v * v, 0), 9);
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/not positive definite/);
  });

  it('finds the eigenpairs of a matrix built from known ones: Q diag(λ) Qᵀ, Q a Householder reflection', () => {
    // Q = I − 2uuᵀ/uᵀu is orthogonal and symmetric: its columns are the eigenvectors, λ the eigenvalues.
    const u = [1, 2, -1, 3];
    const n = 4;
    const uu = u.reduce((s, v) => s + v * v, 0);
    const q = (i: number, j: number): number => (i === j ? 1 : 0) - (2 * u[i]! * u[j]!) / uu;
    const lambda = [7, 3.5, 1, 0.25];
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j]! += q(i, k) * lambda[k]! * q(j, k);
    const { values, vectors } = symmetricEigen(a, n);
    lambda.forEach((l, k) => {
      expect(values[k]!).toBeCloseTo(l, 12);
      // Up to its sign, eigenvector k is column k of Q.
      const sign = Math.sign(vectors[k * n]! * q(0, k));
      for (let i = 0; i < n; i++) expect(vectors[k * n + i]!).toBeCloseTo(sign * q(i, k), 12);
    });
  });

  it('decomposes a sample covariance: C v = λ v, orthonormal vectors, largest value first, trace kept', () => {
    const { values, vectors } = symmetricEigen(cov, d);
    for (let k = 0; k < d; k++) {
      if (k > 0) expect(values[k]!).toBeLessThanOrEqual(values[k - 1]!);
      for (let i = 0; i < d; i++) {
        let cv = 0;
        for (let j = 0; j < d; j++) cv += cov[i * d + j]! * vectors[k * d + j]!;
        expect(cv).toBeCloseTo(values[k]! * vectors[k * d + i]!, 10);
      }
      for (let l = 0; l < d; l++) {
        const dot = Array.from({ length: d }, (_, i) => vectors[k * d + i]! * vectors[l * d + i]!).reduce((s, v) => s + v, 0);
        expect(dot).toBeCloseTo(k === l ? 1 : 0, 12);
      }
    }
    const trace = Array.from({ length: d }, (_, i) => cov[i * d + i]!).reduce((s, v) => s + v, 0);
    expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 10);
  });

  it('leaves a diagonal matrix as it is, values sorted, and a 2 × 2 as its closed form', () => {
    const diagonal = symmetricEigen(Float64Array.from([1, 0, 0, 0, 5, 0, 0, 0, 3]), 3);
    expect(Array.from(diagonal.values)).toEqual([5, 3, 1]);
    expect(Array.from(diagonal.vectors)).toEqual([0, 1, 0, 0, 0, 1, 1, 0, 0]);
    // [[2, 1], [1, 2]]: 3 along (1, 1)/√2, 1 along (1, −1)/√2.
    const pair = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(pair.values[0]!).toBeCloseTo(3, 14);
    expect(pair.values[1]!).toBeCloseTo(1, 14);
    expect(Math.abs(pair.vectors[0]!)).toBeCloseTo(Math.SQRT1_2, 14);
    expect(pair.vectors[0]! * pair.vectors[1]!).toBeCloseTo(0.5, 14);
    expect(pair.vectors[2]! * pair.vectors[3]!).toBeCloseTo(-0.5, 14);
  });
});
