// The alarm threshold, calibrated on held-back normal windows the autoencoder never trained on. An
// empirical 99.9% quantile does not exist in a few hundred windows, so a lognormal tail is fitted to the
// held-back scores and the threshold placed at the upper tolerance bound of that fit: `k` σ above the
// centre of the log-scores, where k covers the target quantile with the target confidence given how many
// windows the fit saw.
//
// The fit is robust (median and MAD σ of the log-scores). Held-back normal data holds operating
// transients — a stop, a spin-down, a spin-up — scoring tens to hundreds of times a typical window, and
// an hour of a small fleet can hold anything from none to a quarter of them. A mean and standard deviation
// follow those windows (one 3-minute stop gave logStd 1.6 and, with the maximum as a floor, a threshold of
// ~2900, above every real fault); the median and MAD describe steady operation, which is what the tail is
// fitted to. For the same reason no empirical quantile or maximum bounds the threshold from below once the
// fit has enough windows: any quantile high enough to matter lands on the transients. Those transients do
// alarm (the model has not learnt a stopped machine from a few windows), and `heldBackAbove` says how many.
//
// With few held-back windows the median and MAD are themselves uncertain, so the threshold is then never
// below the largest held-back score times a margin. Hopping windows (pdm train on a short recording:
// 10 s windows every 1 s) share most of their readings with their neighbours: the held-back scores are
// then counted at the share of independent windows, for the tolerance factor and for "few" alike —
// 249 hopping windows know what 25 tumbling ones do.
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { madSigma, median } from '../model/robust-stats.js';

/** Stored in threshold.json next to the score scale. */
export interface Calibration {
  threshold: number;
  heldBackWindows: number;
  heldBackMax: number;
  /** Held-back windows scoring above the threshold (operating transients, normally). */
  heldBackAbove: number;
  /** Median and MAD σ of ln(score) over the held-back windows. */
  logCenter: number;
  logSpread: number;
  /** The tolerance factor k used. */
  tailSigmas: number;
  /** True when the held-back set was too small for the fit alone and the maximum × margin applied. */
  maxFloor: boolean;
}

export interface CalibrationOptions {
  /** The share of the held-back windows that are independent (1 for tumbling windows, hop / window for hopping ones). */
  independentShare?: number;
  tailQuantileZ?: number;
  confidenceZ?: number;
  heldBackMargin?: number;
  fitMinWindows?: number;
}

export function calibrateThreshold(heldBack: readonly number[], options: CalibrationOptions = {}): Calibration {
  const n = heldBack.length;
  if (n < 2) throw new Error(`calibration needs at least 2 held-back windows, got ${n}`);
  // At least 2: the factor's approximation needs two, and the maximum floor covers what so few know.
  const independent = Math.max(2, n * Math.min(1, options.independentShare ?? 1));
  // k as for a mean and σ from n windows. The MAD is the noisier σ estimate (37% efficiency at the normal),
  // so the confidence is nominal; with few windows the maximum floor below carries the weight.
  const tailSigmas = toleranceFactor(independent, options.tailQuantileZ ?? MODEL_DEFAULTS.tailQuantileZ, options.confidenceZ ?? MODEL_DEFAULTS.confidenceZ);
  // A perfect reconstruction scores 0; the floor keeps ln finite without moving real scores.
  const logs = heldBack.map((s) => Math.log(Math.max(s, 1e-12)));
  const logCenter = median(logs);
  const logSpread = madSigma(logs, logCenter);
  const heldBackMax = heldBack.reduce((a, b) => Math.max(a, b), -Infinity); // not Math.max(...): too many arguments for a long training
  const maxFloor = independent < (options.fitMinWindows ?? MODEL_DEFAULTS.fitMinWindows);
  const fitted = Math.exp(logCenter + tailSigmas * logSpread);
  const threshold = maxFloor ? Math.max(fitted, heldBackMax * (options.heldBackMargin ?? MODEL_DEFAULTS.heldBackMargin)) : fitted;
  const heldBackAbove = heldBack.filter((s) => s > threshold).length;
  return { threshold, heldBackWindows: n, heldBackMax, heldBackAbove, logCenter, logSpread, tailSigmas, maxFloor };
}

/**
 * One-sided normal tolerance factor k(n): with confidence γ, mean + k·s of n samples exceeds the p-quantile
 * of the population (Natrella's approximation, NIST/SEMATECH e-Handbook 7.2.6.3). zP, zGamma: normal
 * quantiles of p and γ. Falls back to a wide bound when n is too small for the approximation.
 */
export function toleranceFactor(n: number, zP: number, zGamma: number): number {
  const a = 1 - (zGamma * zGamma) / (2 * (n - 1));
  const b = zP * zP - (zGamma * zGamma) / n;
  const disc = zP * zP - a * b;
  if (a <= 0 || disc < 0) return 2 * (zP + zGamma);
  return (zP + Math.sqrt(disc)) / a;
}
