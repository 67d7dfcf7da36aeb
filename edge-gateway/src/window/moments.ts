/**
 * Online central moments of a stream of numbers, numerically stable at any offset.
 *
 * `add` is Welford's update for the mean and M2 extended with Pébay's update for M3 and M4
 * (P. Pébay, "Formulas for robust, one-pass parallel computation of covariances and arbitrary-order
 * statistical moments", SAND2008-6212, eq. 2.1-2.3 with n_B = 1). `merge` is the pairwise combination
 * of two accumulators (Chan, Golub & LeVeque 1979 for M2; Pébay eq. 3.1 for M3/M4), which is what
 * lets tumbling panes merge exactly into hopping windows.
 *
 * Values are accumulated relative to a shift (the first value seen): at a 1e9 offset the deviations
 * then keep all their digits instead of ~13 bits, since `x - shift` is exact for nearby doubles
 * (Sterbenz) and the running mean no longer rounds at the offset's ulp on every update.
 *
 * Fields are public numbers on purpose: this object sits on the per-reading hot path and must stay a
 * monomorphic, allocation-free shape.
 */
export class Moments {
  n = 0;
  /** The first value seen; the accumulator works on x - shift. */
  shift = 0;
  /** Mean of x - shift. */
  shiftedMean = 0;
  /** Sum of squared deviations from the mean. */
  m2 = 0;
  /** Sum of cubed deviations from the mean. */
  m3 = 0;
  /** Sum of fourth-power deviations from the mean. */
  m4 = 0;
  min = Infinity;
  max = -Infinity;

  get mean(): number {
    return this.shift + this.shiftedMean;
  }

  add(x: number): void {
    const n1 = this.n;
    if (n1 === 0) this.shift = x;
    const n = n1 + 1;
    const delta = x - this.shift - this.shiftedMean;
    const deltaN = delta / n;
    const deltaN2 = deltaN * deltaN;
    const term1 = delta * deltaN * n1;
    // Order matters: M4 uses the old M3 and M2, M3 the old M2.
    this.m4 += term1 * deltaN2 * (n * n - 3 * n + 3) + 6 * deltaN2 * this.m2 - 4 * deltaN * this.m3;
    this.m3 += term1 * deltaN * (n - 2) - 3 * deltaN * this.m2;
    this.m2 += term1;
    this.shiftedMean += deltaN;
    this.n = n;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  /** Folds `other` into this accumulator, as if its values had been added here. */
  merge(other: Moments): void {
    const na = this.n;
    const nb = other.n;
    if (nb === 0) return;
    if (na === 0) {
      this.copyFrom(other);
      return;
    }
    const n = na + nb;
    // Difference of the shifts first: two close shifts subtract exactly.
    const delta = other.shift - this.shift + (other.shiftedMean - this.shiftedMean);
    const delta2 = delta * delta;
    const nanb = na * nb;
    const m2a = this.m2;
    const m3a = this.m3;
    this.m4 +=
      other.m4 +
      (delta2 * delta2 * nanb * (na * na - nanb + nb * nb)) / (n * n * n) +
      (6 * delta2 * (na * na * other.m2 + nb * nb * m2a)) / (n * n) +
      (4 * delta * (na * other.m3 - nb * m3a)) / n;
    this.m3 += other.m3 + (delta * delta2 * nanb * (na - nb)) / (n * n) + (3 * delta * (na * other.m2 - nb * m2a)) / n;
    this.m2 += other.m2 + (delta2 * nanb) / n;
    // mean + delta * nb / n rather than a weighted sum: no large products at big offsets.
    this.shiftedMean += (delta * nb) / n;
    this.n = n;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  copyFrom(other: Moments): void {
    this.n = other.n;
    this.shift = other.shift;
    this.shiftedMean = other.shiftedMean;
    this.m2 = other.m2;
    this.m3 = other.m3;
    this.m4 = other.m4;
    this.min = other.min;
    this.max = other.max;
  }
}
