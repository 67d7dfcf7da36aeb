// The upper limit of PCA's residual statistic Q (the squared prediction error: the squared distance of a
// window from the principal subspace), from the eigenvalues λ of the components left out of it. For
// Gaussian data Q is a weighted sum of χ²₁ variables, Σ λⱼ χ²₁; Jackson and Mudholkar ("Control procedures
// for residuals associated with principal component analysis", Technometrics 21(3), 1979) take (Q/θ₁)^h₀ as
// normal, with θᵢ = Σ λⱼⁱ (i = 1, 2, 3) and h₀ = 1 − 2θ₁θ₃ / (3θ₂²), which gives the upper α quantile
//   Q_α = θ₁ · [ c_α·√(2θ₂h₀²)/θ₁ + 1 + θ₂h₀(h₀ − 1)/θ₁² ]^(1/h₀),   c_α the normal upper α quantile.
// h₀ ≤ 0 (one left-out eigenvalue far above many small ones) has no such power; there the power's limit
// as h₀ → 0, the logarithm (log Q normal), is taken: Q_α = θ₁·exp(c_α√(2θ₂)/θ₁ − θ₂/θ₁²). Sampled with
// 4·10⁶ Gaussian windows, it errs on the safe side, more so the smaller α: exceeded by 0.79 α at α = 10⁻²
// and 0.51 α at 10⁻³ for λ = (0.9, 0.5, 0.3, 0.1, 0.05); 0.91 α and 0.58 α for (1, 0.1); 0.63 α and 0.19 α
// for one λ = 1 over ten of 0.1 (the logarithm) — where Box's moment-matched g·χ²_h exceeded α three to five
// times over. With one left-out eigenvalue Q is exactly λ·χ²₁, and its quantile is taken instead (the
// approximation gave 0.83 α at 10⁻³ there).
import { chiSquareUpperQuantile } from './chi-square.js';

/** The Q that Gaussian windows exceed with probability `alpha` (0 < α < ½) when the left-out eigenvalues are `discarded`. */
export function qLimit(discarded: readonly number[], alpha: number): number {
  if (!(alpha > 0 && alpha < 0.5)) throw new RangeError(`Q limit: alpha must lie in (0, 0.5), got ${alpha}`);
  const [theta1, theta2, theta3] = [1, 2, 3].map((i) => discarded.reduce((sum, l) => sum + Math.max(0, l) ** i, 0)) as [number, number, number];
  if (!(theta1 > 0)) throw new RangeError('Q limit: the left-out eigenvalues are all 0: no residual to limit');
  if (discarded.length === 1) return theta1 * chiSquareUpperQuantile(alpha, 1);
  const h0 = Math.max(0, 1 - (2 * theta1 * theta3) / (3 * theta2 * theta2));
  // P(Z > c) = α for a standard normal Z is P(Z² > c²) = 2α: c is the root of χ²₁'s upper 2α quantile.
  const c = Math.sqrt(chiSquareUpperQuantile(2 * alpha, 1));
  // The bracket above is 1 + h₀·slope; ln(bracket)/h₀ is written with log1p so it tends to `slope` as h₀ → 0.
  const slope = (c * Math.sqrt(2 * theta2)) / theta1 + (theta2 * (h0 - 1)) / (theta1 * theta1);
  return theta1 * Math.exp(h0 > 0 ? Math.log1p(h0 * slope) / h0 : slope);
}
