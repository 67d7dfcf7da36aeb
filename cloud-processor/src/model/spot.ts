// SPOT, the streaming peaks-over-threshold threshold of Siffer, Fouque, Termier and Largouët ("Anomaly
// Detection in Streams with Extreme Value Theory", KDD 2017): a threshold on an anomaly score set from
// the risk q one is willing to take — the probability that a normal score exceeds it — instead of from a
// guess (7 σ) that promises nothing. Extreme value theory says the excesses of almost any distribution
// over a high enough level t follow a generalized Pareto distribution (GPD) with a shape γ and a scale
// σ; fitting it to the scores above t extrapolates to the far quantile z_q that no calibration set
// holds enough samples to read off directly:
//   z_q = t + (σ/γ)·((q·n/N_t)^(−γ) − 1),   or t − σ·ln(q·n/N_t) when γ = 0,
// where n is the number of observations and N_t how many of them exceeded t.
//
// The threshold follows the machine: every normal score above t becomes a new peak and the GPD is fitted
// again, so a machine whose scores slowly widen raises its own threshold instead of drifting into alarm.
// A score above z_q is an anomaly and teaches nothing, so a fault cannot raise the bar it is judged by.
//
// One departure from the paper, measured: leaving the exceedances out cuts the top off the peaks, a GPD
// fitted to them as if nothing were missing sees a shorter tail, z_q falls, more is cut off — on Gaussian
// noise at q = 1e-3 the paper's update let 2.3 times q through over 200 000 observations, and a slowly
// widening scale could not raise the threshold at all (peaks above it never arrive). So every peak
// remembers its ceiling, the z_q − t it was admitted under, and the online fit maximises the likelihood
// of the peaks as a GPD truncated at their ceilings: the missing tops are accounted for, not evidence
// of a short tail. Anomalies still teach nothing.
//
// The state is plain numbers, so it can be written to disk and read back as it is. Training's tail
// threshold (training/tail-threshold.ts) is this calibration on the training scores; the online update
// serves the models that ask for it — robust-t2, pca, the autoencoder — (online-threshold.ts, with the
// rules that keep slow faults out).

import { quantile } from './robust-stats.js';

/** The fewest peaks a GPD is fitted to: with fewer, the fitted tail (and so z_q) is little more than noise. */
export const MIN_PEAKS = 10;

export interface SpotOptions {
  /** The risk: the probability, per observation, that a normal score exceeds the threshold. In (0, 1). */
  q: number;
  /** The quantile of the calibration scores taken as the tail threshold t. Default 0.98. */
  level?: number;
  /** Keep at most the newest this many peaks (at least MIN_PEAKS). Default 2000. */
  maxPeaks?: number;
}

export interface SpotState {
  q: number;
  maxPeaks: number;
  /** t: the tail threshold, the calibration's `level` quantile; fixed after calibration. */
  tail: number;
  /** The excesses x − t of the non-anomalous observations above t, oldest first (N_t = peaks.length). */
  peaks: number[];
  /**
   * Per peak, the ceiling it was admitted under (z_q − t at the time: larger excesses were anomalies);
   * NO_CEILING for the calibration's peaks, which nothing cut off.
   */
  ceilings: number[];
  /**
   * n: the observations the peaks stand for. It counts every non-anomalous observation, and shrinks in
   * proportion when the oldest peak is dropped (n·N/(N + 1)), so N_t/n stays the rate of the observations
   * the kept peaks come from rather than tending to 0. Fractional once peaks have been dropped.
   */
  observations: number;
  /** The fitted GPD shape γ and scale σ of the peaks. */
  gamma: number;
  sigma: number;
  /** z_q: an observation above it is anomalous. */
  threshold: number;
}

/** The ceiling of a peak nothing cut off; the largest finite number, so the state stays JSON. */
export const NO_CEILING = Number.MAX_VALUE;

export const DEFAULT_LEVEL = 0.98;
export const DEFAULT_MAX_PEAKS = 2000;

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
 * The SPOT state calibrated on `calibration` (non-finite values — unscored windows — are skipped):
 * t = their `level` quantile (linear interpolation between order statistics), the peaks = their excesses
 * over t (the newest maxPeaks of them), the GPD fitted to the peaks, and z_q.
 * Throws a RangeError when fewer than MIN_PEAKS values lie above t: no tail can be fitted, and a made-up
 * fallback would promise a risk nothing backs. The caller needs a calibration of well over
 * MIN_PEAKS / (1 − level) values (500 at the default level), or a lower level.
 */
export function initSpot(calibration: readonly number[], options: SpotOptions): SpotState {
  const { q } = options;
  const level = options.level ?? DEFAULT_LEVEL;
  const maxPeaks = options.maxPeaks ?? DEFAULT_MAX_PEAKS;
  if (!(q > 0 && q < 1)) throw new RangeError(`SPOT: the risk q must lie in (0, 1), got ${q}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`SPOT: level must lie in (0, 1), got ${level}`);
  if (!(Number.isInteger(maxPeaks) && maxPeaks >= MIN_PEAKS)) throw new RangeError(`SPOT: maxPeaks must be an integer ≥ ${MIN_PEAKS}, got ${maxPeaks}`);

  const values = calibration.filter(Number.isFinite);
  const tail = quantile(values, level);
  let peaks = values.filter((x) => x > tail).map((x) => x - tail);
  if (peaks.length < MIN_PEAKS) {
    throw new RangeError(
      `SPOT: ${peaks.length} of ${values.length} calibration values lie above their ${level} quantile; at least ${MIN_PEAKS} are needed to fit the tail`,
    );
  }
  let observations = values.length;
  if (peaks.length > maxPeaks) {
    // Keep the newest, and the observations in proportion, as stepSpot does when it drops a peak.
    observations *= maxPeaks / peaks.length;
    peaks = peaks.slice(peaks.length - maxPeaks);
  }
  // Nothing is cut off the calibration: Grimshaw's procedure gives the maximum likelihood fit directly.
  const { gamma, sigma } = fitGpd(peaks);
  const state: SpotState = { q, maxPeaks, tail, peaks, ceilings: peaks.map(() => NO_CEILING), observations, gamma, sigma, threshold: tail };
  state.threshold = spotThreshold(state);
  return state;
}

/**
 * Judges the next observation x against the threshold and learns it when it is normal. Above z_q: an
 * anomaly, and the state is left as it was. Otherwise n grows by one, and when x > t, x − t joins the
 * peaks (the oldest dropped beyond maxPeaks) and the GPD is fitted again; z_q is recomputed either way
 * (n moved). Returns the threshold x was judged against. A non-finite x (an unscored window) says
 * nothing: not anomalous, nothing learned. A caller that judges by a threshold of its own (held to a
 * floor or a pace, see online-threshold.ts) passes it: what lay above it is what was cut off the peaks.
 * `refit` false keeps the fitted shape and scale (the peak is kept for the next refit): a caller may
 * refit every few peaks, the refit being the step's whole cost.
 * Cost: O(1) below t; O(N_t) for a peak (the refit, see fitTruncatedGpd), which happens for about
 * 1 − level of the observations.
 */
export function stepSpot(state: SpotState, x: number, threshold = state.threshold, refit = true): { anomalous: boolean; threshold: number } {
  if (!Number.isFinite(x)) return { anomalous: false, threshold };
  if (x > threshold) return { anomalous: true, threshold };
  state.observations += 1;
  if (x > state.tail) {
    state.peaks.push(x - state.tail);
    state.ceilings.push(threshold - state.tail);
    if (state.peaks.length > state.maxPeaks) {
      state.observations *= state.maxPeaks / state.peaks.length;
      state.peaks.shift();
      state.ceilings.shift();
    }
    if (refit) {
      const { gamma, sigma } = fitTruncatedGpd(state.peaks, state.ceilings, state);
      state.gamma = gamma;
      state.sigma = sigma;
    }
  }
  state.threshold = spotThreshold(state);
  return { anomalous: false, threshold };
}

/**
 * z_q for the state's fitted tail. When q·n/N_t ≥ 1 the risk asked for is no rarer than exceeding t
 * itself, which the tail model says nothing below: the threshold is t.
 */
export function spotThreshold(state: Pick<SpotState, 'q' | 'tail' | 'peaks' | 'observations' | 'gamma' | 'sigma'>): number {
  const r = (state.q * state.observations) / state.peaks.length;
  if (r >= 1) return state.tail;
  const { gamma, sigma } = state;
  // (r^(−γ) − 1)/γ written with expm1, exact as γ → 0 where the plain form cancels.
  return gamma === 0 ? state.tail - sigma * Math.log(r) : state.tail + (sigma * Math.expm1(-gamma * Math.log(r))) / gamma;
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

// --- Maximum likelihood fit of the GPD truncated at the peaks' ceilings ----------------------------
//
// A peak y admitted under ceiling c is a draw of the GPD conditioned on y ≤ c, so it contributes
//   ln f(y) − ln F(c),   f(y) = (1/σ)(1 + γ y/σ)^(−1 − 1/γ),   F(c) = 1 − (1 + γ c/σ)^(−1/γ)
// (for γ = 0: f(y) = e^(−y/σ)/σ, F(c) = 1 − e^(−c/σ)). No root equation reduces this to one variable,
// so it is maximised directly over (γ, ln σ) by Nelder–Mead, starting from the previous fit (one peak
// changed, so the optimum is near). γ is kept above −1: below it the likelihood grows without bound as
// the endpoint σ/|γ| closes on the largest peak, a degenerate fit that says nothing about the tail.

/** The truncated GPD log-likelihood of the peaks; −Infinity where (γ, σ) cannot have produced them. */
export function truncatedLogLikelihood(peaks: readonly number[], ceilings: readonly number[], gamma: number, sigma: number): number {
  if (!(gamma > -1) || !(sigma > 0)) return -Infinity;
  let sum = 0;
  for (let i = 0; i < peaks.length; i++) {
    const y = peaks[i]!;
    const c = ceilings[i]!;
    let logDensity: number;
    let survival: number;
    if (gamma === 0) {
      logDensity = -y / sigma;
      survival = Math.exp(-c / sigma);
    } else {
      const a = Math.log1p((gamma * y) / sigma);
      if (!Number.isFinite(a)) return -Infinity; // 1 + γ y/σ ≤ 0: y beyond the endpoint
      logDensity = -(1 + 1 / gamma) * a;
      // Beyond the endpoint (1 + γ c/σ ≤ 0) nothing survives.
      survival = 1 + (gamma * c) / sigma > 0 ? Math.exp(-Math.log1p((gamma * c) / sigma) / gamma) : 0;
    }
    sum += logDensity - Math.log1p(-survival);
  }
  return sum - peaks.length * Math.log(sigma);
}

/**
 * The maximum likelihood GPD of `peaks` truncated at `ceilings`, searched from `start` (or from the
 * exponential with the peaks' mean when `start` cannot have produced them). Nelder–Mead takes a few
 * dozen likelihood evaluations here, each a pass over the peaks (two logarithms and an exponential per
 * peak): O(N) per fit with that constant, about 2.7 ms for 2000 peaks on one core of the development
 * machine, paid for the 1 − level of the observations that are peaks.
 */
export function fitTruncatedGpd(peaks: readonly number[], ceilings: readonly number[], start: { gamma: number; sigma: number }): { gamma: number; sigma: number } {
  const cost = (p: readonly number[]): number => -truncatedLogLikelihood(peaks, ceilings, p[0]!, Math.exp(p[1]!));
  let from = [start.gamma, Math.log(start.sigma)];
  if (!Number.isFinite(cost(from))) from = [0, Math.log(peaks.reduce((a, b) => a + b, 0) / peaks.length)];
  const [gamma, logSigma] = nelderMead(cost, from, 0.01, 1e-6);
  return { gamma: gamma!, sigma: Math.exp(logSigma!) };
}

/**
 * The minimum of f near `from` by the Nelder–Mead simplex (reflection 1, expansion 2, contraction and
 * shrink ½), stopped when the simplex's values agree to `tolerance` or after 500 iterations.
 */
function nelderMead(f: (p: readonly number[]) => number, from: readonly number[], step: number, tolerance: number): number[] {
  const d = from.length;
  const simplex = [from.slice(), ...from.map((_, j) => from.map((v, k) => (k === j ? v + step : v)))].map((p) => ({ p, v: f(p) }));
  const along = (a: readonly number[], b: readonly number[], t: number): number[] => a.map((ai, k) => ai + t * (b[k]! - ai));
  for (let iteration = 0; iteration < 500; iteration++) {
    simplex.sort((a, b) => a.v - b.v);
    const best = simplex[0]!;
    const worst = simplex[d]!;
    if (worst.v - best.v <= tolerance) break;
    const centroid = from.map((_, k) => simplex.slice(0, d).reduce((sum, s) => sum + s.p[k]!, 0) / d);
    const reflected = along(centroid, worst.p, -1);
    const vr = f(reflected);
    if (vr < best.v) {
      const expanded = along(centroid, worst.p, -2);
      const ve = f(expanded);
      simplex[d] = ve < vr ? { p: expanded, v: ve } : { p: reflected, v: vr };
    } else if (vr < simplex[d - 1]!.v) {
      simplex[d] = { p: reflected, v: vr };
    } else {
      const contracted = vr < worst.v ? along(centroid, reflected, 0.5) : along(centroid, worst.p, 0.5);
      const vc = f(contracted);
      if (vc < Math.min(vr, worst.v)) {
        simplex[d] = { p: contracted, v: vc };
      } else {
        for (let i = 1; i <= d; i++) {
          const p = along(best.p, simplex[i]!.p, 0.5);
          simplex[i] = { p, v: f(p) };
        }
      }
    }
  }
  simplex.sort((a, b) => a.v - b.v);
  return simplex[0]!.p;
}
