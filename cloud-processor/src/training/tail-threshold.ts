// A threshold on an anomaly score set from the risk one is willing to take — the probability q that a
// normal window's score exceeds it — read off the tail of the training windows' own scores, as SPOT
// calibrates (Siffer, Fouque, Termier and Largouët, "Anomaly Detection in Streams with Extreme Value
// Theory", KDD 2017). Extreme value theory says the excesses of almost any distribution over a high
// enough level t follow a generalized Pareto distribution (GPD) with shape γ and scale σ; fitting it to
// the scores above t extrapolates to the far quantile z_q no training set holds enough samples to read:
//   z_q = t + (σ/γ)·((q·n/N_t)^(−γ) − 1),   or t − σ·ln(q·n/N_t) when γ = 0,
// where n is the number of scores and N_t how many of them exceed t.
//
// The GPD fit and the risk are SPOT's (model/spot.ts), which also serves the online update of models
// that ask for it (model/online-threshold.ts); here the calibration alone, on the training scores.
//
// Training is taken as normal throughout, but a few windows of it may not be: a sensor glitch, a
// reading of 0 where the value is 800. Fitted with the rest, three such windows in 3,000 (scores ~10⁶
// against a tail of ~10) made the GPD's shape so heavy that the threshold came out at 8,264, and the
// model would alarm at nothing. So the top peaks are first tested as outliers of the GPD the peaks
// below them follow (outlyingPeaks) and the ones that are set aside count as neither peaks nor windows.
import { quantile } from '../model/robust-stats.js';
import { fitGpd, MIN_PEAKS, perWindowRisk } from '../model/spot.js';

export { MIN_PEAKS, perWindowRisk };

/** The quantile of the scores taken as the tail threshold t. */
const DEFAULT_LEVEL = 0.98;

/**
 * The most peaks set aside as outliers, as a share of them: a tenth of the peaks (at the default level
 * one window in 500). Glitches are rare; a tenth is few enough that a real part of the tail — a
 * machine's hot afternoons, hundreds of windows — cannot be cut off, as its lower part is in the fit.
 */
const MAX_OUTLIER_SHARE = 0.1;

/**
 * …and at most this many: each one tested is a GPD fit over the peaks (~50 passes), so the screen of a
 * month of 10 s windows (5,000 peaks) costs 100 fits, not 500. More glitches than that are the machine's.
 */
const MAX_OUTLIERS = 100;

/**
 * A peak is an outlier when fewer than this many peaks at least as large were expected among those it
 * was tested with. On scores whose tail is the GPD fitted, the largest peak is set aside with about this
 * probability, so a real tail keeps its top; in 3,000 χ²₂-like scores (60 peaks, σ 2) it sets aside a
 * score from ~22 above t on: a window 5½ σ out, which 3,000 normal windows hold with about that chance.
 */
const OUTLIER_EXPECTED_COUNT = 1e-3;

/**
 * z_q of `scores` (non-finite values skipped) at risk q: t = their `level` quantile, the GPD fitted to
 * the excesses over t but the outlying ones at the top (outlyingPeaks). When q·n/N_t ≥ 1 the risk
 * asked for is no rarer than exceeding t itself, which the tail model says nothing below: the threshold
 * is t. Null when there is no tail to read — fewer
 * than MIN_PEAKS scores above t (few scores, or many tied at the top) — or when q is no risk at all
 * (≥ 1: a window a day or longer with one false alert a day allowed): a made-up fallback would promise
 * a risk nothing backs. The caller needs well over MIN_PEAKS / (1 − level) scores, 500 at the default.
 */
export function tailThreshold(scores: readonly number[], q: number, level = DEFAULT_LEVEL): number | null {
  if (!(q > 0)) throw new RangeError(`tail threshold: the risk q must be > 0, got ${q}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`tail threshold: level must lie in (0, 1), got ${level}`);
  if (q >= 1) return null;
  const values = scores.filter(Number.isFinite);
  const tail = quantile(values, level);
  const allPeaks = values
    .filter((x) => x > tail)
    .map((x) => x - tail)
    .sort((a, b) => a - b);
  if (allPeaks.length < MIN_PEAKS) return null;
  const outliers = outlyingPeaks(allPeaks);
  const peaks = allPeaks.slice(0, allPeaks.length - outliers);
  const r = (q * (values.length - outliers)) / peaks.length;
  if (r >= 1) return tail;
  const { gamma, sigma } = fitGpd(peaks);
  // (r^(−γ) − 1)/γ written with expm1, exact as γ → 0 where the plain form cancels.
  return gamma === 0 ? tail - sigma * Math.log(r) : tail + (sigma * Math.expm1(-gamma * Math.log(r))) / gamma;
}

/**
 * How many of the largest of `peaks` (sorted ascending) are outliers: the generalized ESD procedure
 * (Rosner, Technometrics 1983) with the GPD in place of the normal. For i = 1 … the most allowed, the
 * i-th largest peak is tested against the GPD fitted to the peaks below it: an outlier when the peaks
 * it was tested among (it and those below) were expected to hold fewer than OUTLIER_EXPECTED_COUNT at
 * least as large. The count is the largest i that tests as an outlier (as in Rosner's procedure, a
 * glitch hidden behind a larger one is found with it). At least MIN_PEAKS peaks stay.
 */
function outlyingPeaks(peaks: readonly number[]): number {
  const most = Math.min(Math.floor(MAX_OUTLIER_SHARE * peaks.length), MAX_OUTLIERS, peaks.length - MIN_PEAKS);
  let outliers = 0;
  for (let i = 1; i <= most; i++) {
    const below = peaks.slice(0, peaks.length - i);
    // The peaks below are fitted as if nothing above them were missing, so the tail they show is a
    // little lighter than it is (the bias spot.ts corrects online); on 200 seeded samples of clean tails
    // it set aside a peak in at most 2 % of them.
    const { gamma, sigma } = fitGpd(below);
    // A fit with a bounded tail (γ < 0) from the few peaks below would make anything past its end an
    // outlier (6 of 60 exponential peaks were); the test takes the tail as at least exponential, with
    // the bounded fit's σ — larger than the exponential's own (the mean), so it is more lenient still.
    if ((below.length + 1) * heavyTailSurvival(peaks[peaks.length - i]!, Math.max(0, gamma), sigma) < OUTLIER_EXPECTED_COUNT) outliers = i;
  }
  return outliers;
}

/** P(Y > y) for Y ~ GPD(γ ≥ 0, σ): (1 + γy/σ)^(−1/γ), e^(−y/σ) at γ = 0 (written with log1p: exact as γ → 0). */
function heavyTailSurvival(y: number, gamma: number, sigma: number): number {
  return Math.exp(gamma === 0 ? -y / sigma : -Math.log1p((gamma * y) / sigma) / gamma);
}
