// The F distribution's upper quantiles, for Tracy–Young–Mason's T² limit (pca.ts): through the regularised
// incomplete beta function, P(F > f) = I_{m/(m + k·f)}(m/2, k/2) for F ~ F(k, m).
import { lnGamma } from './chi-square.js';

/** The regularised incomplete beta function I_x(a, b) (Numerical Recipes §6.4: its continued fraction, modified Lentz). */
function incompleteBeta(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  // The fraction converges fast for x < (a + 1)/(a + b + 2); beyond, by I_x(a, b) = 1 − I_{1−x}(b, a).
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(b, a, 1 - x);
  const tiny = 1e-300;
  const clamp = (v: number): number => (Math.abs(v) < tiny ? tiny : v);
  let c = 1;
  let d = 1 / clamp(1 - ((a + b) * x) / (a + 1));
  let h = d;
  for (let m = 1; m < 10_000; m++) {
    const even = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 / clamp(1 + even * d);
    c = clamp(1 + even / c);
    h *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 / clamp(1 + odd * d);
    c = clamp(1 + odd / c);
    h *= d * c;
    if (Math.abs(d * c - 1) < 1e-16) break;
  }
  return (front * h) / a;
}

/** The f with P(F > f) = α for F ~ F(dof1, dof2), by bisection of P(F > f) = I_{dof2/(dof2 + dof1·f)}(dof2/2, dof1/2). */
export function fUpperQuantile(alpha: number, dof1: number, dof2: number): number {
  if (!(alpha > 0 && alpha < 1) || !(dof1 > 0) || !(dof2 > 0)) throw new RangeError(`F quantile needs 0 < α < 1 and dof > 0, got α ${alpha}, dof ${dof1}, ${dof2}`);
  const survival = (f: number): number => incompleteBeta(dof2 / 2, dof1 / 2, dof2 / (dof2 + dof1 * f));
  let lo = 0;
  let hi = 1;
  while (survival(hi) > alpha) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (survival(mid) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

