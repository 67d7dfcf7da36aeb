// Order statistics for small samples: tens of training windows make means and standard deviations
// hostage to one odd window, medians and MADs are not. Here in model/ because scoring uses them too
// (robust-t2's level, the SPOT tail), and training imports model, not the other way round.

/** Linear-interpolated quantile (type 7, numpy's default); NaN for an empty sample. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Median absolute deviation scaled by 1.4826, so it estimates σ for normally distributed data. */
export function madSigma(values: readonly number[], center: number = median(values)): number {
  return 1.4826 * median(values.map((v) => Math.abs(v - center)));
}

/** Smallest positive difference between two values: the quantisation step of quantised readings; 0 if all are equal. */
export function smallestGap(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  let gap = Infinity;
  for (let i = 1; i < sorted.length; i++) {
    const d = sorted[i]! - sorted[i - 1]!;
    if (d > 0 && d < gap) gap = d;
  }
  return gap === Infinity ? 0 : gap;
}
