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
