// Small dense linear algebra for fitting covariance models (d up to a few dozen features): symmetric
// matrices are Float64Arrays, row-major d × d.

/** Mean of the rows. */
export function meanOf(rows: readonly ArrayLike<number>[], d: number): Float64Array {
  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j]! += r[j]!;
  for (let j = 0; j < d; j++) mean[j]! /= rows.length;
  return mean;
}

/** Sample covariance (divisor n − 1) of the rows around `mean`. */
export function covarianceOf(rows: readonly ArrayLike<number>[], mean: ArrayLike<number>, d: number): Float64Array {
  const c = new Float64Array(d * d);
  const r = new Float64Array(d);
  for (const row of rows) {
    for (let j = 0; j < d; j++) r[j] = row[j]! - mean[j]!;
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) c[i * d + j]! += r[i]! * r[j]!;
  }
  const divisor = Math.max(1, rows.length - 1);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      c[i * d + j]! /= divisor;
      c[j * d + i] = c[i * d + j]!;
    }
  }
  return c;
}

/** Lower-triangular L with A = L Lᵀ; throws when A is not (numerically) positive definite. */
export function cholesky(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * d + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * d + k]! * l[j * d + k]!;
      if (i === j) {
        if (!(sum > 0)) throw new Error(`matrix is not positive definite (pivot ${i} is ${sum})`);
        l[i * d + i] = Math.sqrt(sum);
      } else {
        l[i * d + j] = sum / l[j * d + j]!;
      }
    }
  }
  return l;
}

/** A⁻¹ of a symmetric positive definite A, through its Cholesky factor. */
export function invertSpd(a: Float64Array, d: number): Float64Array {
  const l = cholesky(a, d);
  const inv = new Float64Array(d * d);
  const y = new Float64Array(d);
  for (let col = 0; col < d; col++) {
    // L y = e_col, then Lᵀ x = y; x is column `col` of A⁻¹.
    for (let i = 0; i < d; i++) {
      let sum = i === col ? 1 : 0;
      for (let k = 0; k < i; k++) sum -= l[i * d + k]! * y[k]!;
      y[i] = sum / l[i * d + i]!;
    }
    for (let i = d - 1; i >= 0; i--) {
      let sum = y[i]!;
      for (let k = i + 1; k < d; k++) sum -= l[k * d + i]! * inv[k * d + col]!;
      inv[i * d + col] = sum / l[i * d + i]!;
    }
  }
  // Symmetric by construction up to rounding: make it exactly so.
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) inv[i * d + j] = inv[j * d + i] = (inv[i * d + j]! + inv[j * d + i]!) / 2;
  return inv;
}

/** (x − μ)ᵀ P (x − μ). */
export function mahalanobisSq(precision: Float64Array, x: ArrayLike<number>, mean: ArrayLike<number>, d: number): number {
  let total = 0;
  for (let i = 0; i < d; i++) {
    let pr = 0;
    for (let j = 0; j < d; j++) pr += precision[i * d + j]! * (x[j]! - mean[j]!);
    total += (x[i]! - mean[i]!) * pr;
  }
  return total;
}

/** Eigenvalues of a symmetric matrix, largest first, and their unit eigenvectors (row i of `vectors` belongs to values[i]). */
export interface SymmetricEigen {
  values: Float64Array;
  /** Row-major d × d: row i is the eigenvector of values[i]. */
  vectors: Float64Array;
}

/**
 * Eigenvalues and eigenvectors of a symmetric `a` (not modified) by cyclic Jacobi rotations (Golub & Van
 * Loan, Matrix Computations, §8.5; the rotation angle as Numerical Recipes §11.1 takes it): each rotation
 * zeroes one off-diagonal pair, sweeps repeat until what is left off the diagonal is rounding. Slower
 * than QR for large d, but short, and accurate to rounding on the small matrices (d up to a few dozen)
 * of a feature covariance, with eigenvectors orthonormal to rounding.
 */
export function symmetricEigen(a: Float64Array, d: number): SymmetricEigen {
  const m = Float64Array.from(a);
  // Columns of v accumulate the rotations: column j is the eigenvector of m's diagonal entry j.
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  const total = m.reduce((sum, x) => sum + x * x, 0);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += m[p * d + q]! ** 2;
    if (!(off > Number.EPSILON ** 2 * total)) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q]!;
        if (apq === 0) continue;
        // The rotation (c, s) with tan = t, the smaller root of t² + 2θt − 1 = 0, zeroes m[p][q].
        const theta = (m[q * d + q]! - m[p * d + p]!) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.hypot(theta, 1));
        const c = 1 / Math.hypot(t, 1);
        const s = t * c;
        // m ← Jᵀ m J and v ← v J, J the identity but for J[p][p] = J[q][q] = c, J[p][q] = s, J[q][p] = −s.
        for (let r = 0; r < d; r++) {
          const mrp = m[r * d + p]!;
          const mrq = m[r * d + q]!;
          m[r * d + p] = c * mrp - s * mrq;
          m[r * d + q] = s * mrp + c * mrq;
          const vrp = v[r * d + p]!;
          const vrq = v[r * d + q]!;
          v[r * d + p] = c * vrp - s * vrq;
          v[r * d + q] = s * vrp + c * vrq;
        }
        for (let r = 0; r < d; r++) {
          const mpr = m[p * d + r]!;
          const mqr = m[q * d + r]!;
          m[p * d + r] = c * mpr - s * mqr;
          m[q * d + r] = s * mpr + c * mqr;
        }
        m[p * d + q] = m[q * d + p] = 0;
      }
    }
  }
  const order = Array.from({ length: d }, (_, j) => j).sort((i, j) => m[j * d + j]! - m[i * d + i]!);
  const values = Float64Array.from(order, (j) => m[j * d + j]!);
  const vectors = new Float64Array(d * d);
  order.forEach((j, i) => {
    for (let r = 0; r < d; r++) vectors[i * d + r] = v[r * d + j]!;
  });
  return { values, vectors };
}
