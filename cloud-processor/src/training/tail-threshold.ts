// A threshold on an anomaly score set from the risk one is willing to take — the probability q that a
// normal window's score exceeds it — read off the tail of the training windows' own scores, as SPOT
// calibrates (Siffer, Fouque, Termier and Largouët, "Anomaly Detection in Streams with Extreme Value
// Theory", KDD 2017). Extreme value theory says the excesses of almost any distribution over a high
// enough level t follow a generalized Pareto distribution (GPD) with shape γ and scale σ; fitting it to
// the scores above t extrapolates to the far quantile z_q no training set holds enough samples to read:
//   z_q = t + (σ/γ)·((q·n/N_t)^(−γ) − 1),   or t − σ·ln(q·n/N_t) when γ = 0,
// where n is the number of scores and N_t how many of them exceed t.
//
// Only the calibration is here. SPOT's online update (each normal peak refits the tail, so a machine's
// threshold follows it) was built and tested (commit bc282ba, model/spot.ts) and left out
// until a rule keeps slowly growing faults out of the peaks: a bearing wearing for hours would
// otherwise teach its own threshold.

/** The fewest peaks a GPD is fitted to: with fewer, the fitted tail (and so z_q) is little more than noise. */
export const MIN_PEAKS = 10;

/** The quantile of the scores taken as the tail threshold t. */
const DEFAULT_LEVEL = 0.98;

/**
 * The risk q that gives `falseAlertsPerDay` exceedances per machine-day when one window of `windowMs` is
 * one observation: falseAlertsPerDay · windowMs / 86 400 000. That is the rate if every exceedance were
 * an alert; a K-of-N alert rule (an alert opens on K exceeding windows of the last N) makes the false
 * alert rate lower still, since isolated false exceedances rarely come K at a time.
 */
export function perWindowRisk(falseAlertsPerDay: number, windowMs: number): number {
  return (falseAlertsPerDay * windowMs) / 86_400_000;
}

/**
 * z_q of `scores` (non-finite values skipped) at risk q: t = their `level` quantile, the GPD fitted to
 * the excesses over t. When q·n/N_t ≥ 1 the risk asked for is no rarer than exceeding t itself, which
 * the tail model says nothing below: the threshold is t. Null when there is no tail to read — fewer
 * than MIN_PEAKS scores above t (few scores, or many tied at the top) — or when q is no risk at all
 * (≥ 1: a window a day or longer with one false alert a day allowed): a made-up fallback would promise
 * a risk nothing backs. The caller needs well over MIN_PEAKS / (1 − level) scores, 500 at the default.
 */
export function tailThreshold(scores: readonly number[], q: number, level = DEFAULT_LEVEL): number | null {
  if (!(q > 0)) throw new RangeError(`tail threshold: the risk q must be > 0, got ${q}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`tail threshold: level must lie in (0, 1), got ${level}`);
  if (q >= 1) return null;
  const values = scores.filter(Number.isFinite);
  const tail = empiricalQuantile(values, level);
  const peaks = values.filter((x) => x > tail).map((x) => x - tail);
  if (peaks.length < MIN_PEAKS) return null;
  const r = (q * values.length) / peaks.length;
  if (r >= 1) return tail;
  const { gamma, sigma } = fitGpd(peaks);
  // (r^(−γ) − 1)/γ written with expm1, exact as γ → 0 where the plain form cancels.
  return gamma === 0 ? tail - sigma * Math.log(r) : tail + (sigma * Math.expm1(-gamma * Math.log(r))) / gamma;
}

/** The p quantile of `values` by linear interpolation between the order statistics (R's type 7). */
function empiricalQuantile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const h = p * (sorted.length - 1);
  const below = Math.floor(h);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (h - below) * (sorted[above]! - sorted[below]!);
}

// --- Maximum likelihood fit of the GPD (Grimshaw 1993, as used in the SPOT paper) -------------------
//
// The calibration's fit, where nothing is cut off the peaks.
// The GPD log-likelihood of positive peaks Y_1..Y_N is
//   ℓ(γ, σ) = −N ln σ − (1 + 1/γ) Σ ln(1 + γ Y_i/σ).
// With x = γ/σ, the best γ for a given x is m(x) = (1/N) Σ ln(1 + x Y_i), which leaves the profile
//   ℓ(x) = −N (ln(m(x)/x) + m(x) + 1),   x > −1/max(Y),
// a function of one variable. Its stationary points are the roots of Grimshaw's equation u(x)·v(x) = 1,
// u(x) = (1/N) Σ 1/(1 + x Y_i), v(x) = 1 + m(x); x = 0 (γ = 0, the exponential, σ = mean Y) is always
// one. The other roots lie in (−1/max Y, 0) and (0, 2(mean Y − min Y)/(min Y)²]. Each root gives a
// candidate γ = m(x), σ = γ/x; the one with the highest likelihood wins.

/** Grid points per side of 0 that the root search brackets sign changes on. */
const GRID_POINTS = 16;
/** |x·mean Y| below this is γ within about this of 0: the exponential candidate stands for such roots. */
const NEAR_ZERO = 1e-4;
/** How close to the pole −1/max Y the negative side is searched, as 1 + x·max Y. */
const NEAR_POLE = 1e-8;

/**
 * The maximum likelihood GPD (shape γ, scale σ) of positive `peaks`. The roots of u·v − 1 are bracketed
 * on geometric grids (2·GRID_POINTS evaluations, each O(N)) and refined by the Illinois method (about
 * ten more evaluations per root): roughly 50–80 passes over the peaks, O(N) per fit with that constant.
 * Two roots closer together than a grid step can be missed; the exponential candidate is always there.
 */
export function fitGpd(peaks: readonly number[]): { gamma: number; sigma: number } {
  const n = peaks.length;
  let mean = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const y of peaks) {
    mean += y / n;
    min = Math.min(min, y);
    max = Math.max(max, y);
  }
  let best = { gamma: 0, sigma: mean, logLikelihood: -n * (Math.log(mean) + 1) };
  for (const root of grimshawRoots(peaks, mean, min, max)) {
    const gamma = meanLog1p(peaks, root);
    const sigma = gamma / root;
    if (!(sigma > 0) || !Number.isFinite(sigma)) continue;
    const logLikelihood = -n * (Math.log(sigma) + gamma + 1);
    if (logLikelihood > best.logLikelihood) best = { gamma, sigma, logLikelihood };
  }
  return { gamma: best.gamma, sigma: best.sigma };
}

/** The non-zero roots of u(x)·v(x) − 1 that sign changes on the grids reveal. */
function grimshawRoots(peaks: readonly number[], mean: number, min: number, max: number): number[] {
  const w = (x: number): number => grimshawFunction(peaks, x);
  const negative: number[] = [];
  // Toward the pole, spaced in 1 + x·max (where the steep part is); toward 0, spaced in |x|.
  for (let k = 0; k < GRID_POINTS / 2; k++) negative.push(-(1 - geometric(NEAR_POLE, 0.5, k, GRID_POINTS / 2)) / max);
  const innerNegative = Math.min(NEAR_ZERO / mean, 0.5 / max);
  for (let k = GRID_POINTS / 2 - 1; k >= 0; k--) negative.push(-geometric(innerNegative, 0.5 / max, k, GRID_POINTS / 2));
  const positive: number[] = [];
  const upper = (2 * (mean - min)) / (min * min);
  if (upper > NEAR_ZERO / mean) for (let k = 0; k < GRID_POINTS; k++) positive.push(geometric(NEAR_ZERO / mean, upper, k, GRID_POINTS));

  const roots: number[] = [];
  for (const grid of [negative, positive]) {
    let a = grid[0]!;
    let fa = w(a);
    for (const b of grid.slice(1)) {
      const fb = w(b);
      if (fa === 0) roots.push(a);
      else if (fa * fb < 0) roots.push(illinois(w, a, fa, b, fb));
      a = b;
      fa = fb;
    }
    if (fa === 0) roots.push(a);
  }
  return roots;
}

/** The k-th of `count` points from `from` to `to` (both > 0) in geometric progression. */
function geometric(from: number, to: number, k: number, count: number): number {
  return from * (to / from) ** (k / (count - 1));
}

/** Grimshaw's u(x)·v(x) − 1, one pass over the peaks. */
function grimshawFunction(peaks: readonly number[], x: number): number {
  let u = 0;
  let m = 0;
  for (const y of peaks) {
    u += 1 / (1 + x * y);
    m += Math.log1p(x * y);
  }
  return (u / peaks.length) * (1 + m / peaks.length) - 1;
}

function meanLog1p(peaks: readonly number[], x: number): number {
  let m = 0;
  for (const y of peaks) m += Math.log1p(x * y);
  return m / peaks.length;
}

/**
 * A root of f between a and b, where f(a) and f(b) have opposite signs: regula falsi with the Illinois
 * fix (an end kept twice has its value halved), which keeps the bracket and converges superlinearly.
 */
function illinois(f: (x: number) => number, a: number, fa: number, b: number, fb: number): number {
  for (let i = 0; i < 100 && Math.abs(b - a) > 1e-12 * Math.max(Math.abs(a), Math.abs(b)); i++) {
    const c = (a * fb - b * fa) / (fb - fa);
    const fc = f(c);
    if (fc === 0) return c;
    if (fc * fb < 0) {
      a = b;
      fa = fb;
    } else {
      fa /= 2;
    }
    b = c;
    fb = fc;
  }
  return (a * fb - b * fa) / (fb - fa);
}
