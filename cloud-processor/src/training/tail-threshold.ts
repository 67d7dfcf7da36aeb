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
import { quantile } from '../model/robust-stats.js';
import { fitGpd, MIN_PEAKS, perWindowRisk } from '../model/spot.js';

export { MIN_PEAKS, perWindowRisk };

/** The quantile of the scores taken as the tail threshold t. */
const DEFAULT_LEVEL = 0.98;

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
  const tail = quantile(values, level);
  const peaks = values.filter((x) => x > tail).map((x) => x - tail);
  if (peaks.length < MIN_PEAKS) return null;
  const r = (q * values.length) / peaks.length;
  if (r >= 1) return tail;
  const { gamma, sigma } = fitGpd(peaks);
  // (r^(−γ) − 1)/γ written with expm1, exact as γ → 0 where the plain form cancels.
  return gamma === 0 ? tail - sigma * Math.log(r) : tail + (sigma * Math.expm1(-gamma * Math.log(r))) / gamma;
}
