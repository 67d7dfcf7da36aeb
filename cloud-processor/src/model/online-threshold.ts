// A threshold that follows one machine online (per model: `onlineThreshold` in robust-t2.json, pca.json
// or the autoencoder's threshold.json, which pdm train writes unless --fixed-threshold): SPOT (spot.ts) calibrated on the machine's own first
// normal windows under the model, then refitted on its normal peaks, so a machine whose healthy tail is
// heavier than training saw raises its own bar instead of alarming, at the false-alert rate the model was
// trained for. It never goes below the model's floor. pdm train puts the floor at the trained threshold,
// so the bar only rises: with the χ² quantile as the floor, the simulated pump's bar fell from its trained
// 57.8 to 49–50 (calibrated on its first 5½ h, in the evening) and 11 windows of its next afternoon's
// heat exceeded it; the body rule keeps such hours from teaching, so a bar lowered online stays low.
//
// What it learns from, and why. A threshold that learns from what it judges lets a slowly growing fault
// teach it: a bearing wearing for hours puts ever larger scores just under the bar, the tail fit widens,
// the bar rises ahead of the fault and it never alarms. Two rules keep such windows out:
//   - quiet: a window is learnt only when no window of the last `quietWindows` exceeded (an alert episode
//     and its run-up teach nothing);
//   - the body: a window is learnt only while at most half of the machine's last `recentWindows` scores
//     lie above the calibration's upper quartile (their median is below it). A slow fault moves the whole
//     distribution of scores, so its median crosses the upper quartile long before its peaks reach the
//     threshold; a machine that is only heavier-tailed keeps its body where it was. On stationary scores
//     more than 32 of 64 lie above a p = 0.25 line with probability ~1e-6. Counting them is a pass over
//     64 numbers; sorting them for the median cost 7 µs a window, most of the threshold's cost.
// While the rules hold learning the threshold stays where it is: no worse than a fixed one. A machine
// whose healthy tail really is heavier pays with days before its threshold has risen to it.
import { MODEL_DEFAULTS } from './defaults.js';
import { quantile } from './robust-stats.js';
import { initSpot, MIN_PEAKS, perWindowRisk, stepSpot, type SpotState } from './spot.js';

/** A model's `onlineThreshold` (artifact-schemas.ts): what it asks of the online threshold. */
export interface OnlineThresholdSpec {
  /** False exceedances per machine-day the threshold aims at (the risk q per window follows from the window length). */
  falseAlertsPerDay: number;
  /** The threshold never goes below this: pdm train writes the trained threshold (robust-t2: the χ²_d quantile or above; pca: 1; the autoencoder: its calibrated one). */
  floor: number;
}

/** One machine's online threshold under one model version: plain numbers, so the state file holds it as it is. */
export interface OnlineThresholdState {
  /** Scores of the normal windows collected for the calibration, oldest first; emptied once calibrated. */
  calibration: number[];
  /** The fitted tail; null while calibrating. */
  spot: SpotState | null;
  /** The threshold windows are judged against (SPOT's z_q held to the floor and the rise); null while calibrating. */
  threshold: number | null;
  /** The calibration scores' upper quartile: the body rule's line; null while calibrating (NaN is no JSON). */
  bodyLimit: number | null;
  /** The machine's newest scores, oldest first (at most recentWindows). */
  recent: number[];
  /** Windows decided since the last one that exceeded (capped at quietWindows). */
  quiet: number;
  /** Peaks learnt since the tail was last refitted. */
  unfitted: number;
}

export const ONLINE_THRESHOLD = {
  /** Normal windows the calibration takes: 40 peaks above the 98 % level, as training's tail needs (5½ h of 10 s windows). */
  calibrationWindows: 2_000,
  level: 0.98,
  /** Peaks kept (250 made the tail's estimate noisy: χ²₂ scores' quantile 20 % low after a week). */
  maxPeaks: 1000,
  /**
   * The tail is refitted every this many new peaks: a refit over 1,000 peaks is a few ms (Nelder–Mead,
   * dozens of passes), so refitting at every peak (2 % of the windows) cost ~100 µs per window on
   * average, several times the scorer's whole budget. One in 25 (a refit every ~3½ h of 10 s windows,
   * in which the bar rises 1.4 % at most) costs ~2 µs; on stationary scores it reaches the thresholds
   * one in 10 does within 0.5 %.
   */
  refitEvery: 25,
  recentWindows: 64,
  quietWindows: 30,
  bodyQuantile: 0.75,
  /** The most the threshold rises in a day (of windows decided), as a factor. */
  risePerDay: 1.1,
} as const;

/** What training writes for a model whose machines each follow their own threshold: from `floor`, the trained one, up. */
export function onlineThresholdSpec(floor: number, falseAlertsPerDay: number = MODEL_DEFAULTS.falseAlertsPerDay): OnlineThresholdSpec {
  return { falseAlertsPerDay, floor };
}

export function initialOnlineThreshold(): OnlineThresholdState {
  return { calibration: [], spot: null, threshold: null, bodyLimit: null, recent: [], quiet: ONLINE_THRESHOLD.quietWindows, unfitted: 0 };
}

/** The threshold a new window is judged against: the trained one while calibrating. */
export function currentThreshold(state: OnlineThresholdState, trained: number): number {
  return state.threshold ?? trained;
}

/**
 * Learns from a new window's `score`, judged against currentThreshold (`trained`: the model's threshold). A
 * window above it resets the quiet count and teaches nothing; a normal one joins the calibration, or
 * (once calibrated) SPOT's sample, when the quiet and body rules allow. Non-finite scores say nothing.
 */
export function learnOnlineThreshold(state: OnlineThresholdState, spec: OnlineThresholdSpec, windowMs: number, score: number, trained: number): void {
  if (!Number.isFinite(score)) return;
  const threshold = currentThreshold(state, trained);
  const settings = ONLINE_THRESHOLD;
  const quietBefore = state.quiet;
  state.recent.push(score);
  if (state.recent.length > settings.recentWindows) state.recent.shift();
  if (score > threshold) {
    state.quiet = 0;
    return;
  }
  state.quiet = Math.min(settings.quietWindows, state.quiet + 1);
  if (quietBefore < settings.quietWindows) return;
  if (state.spot === null) {
    state.calibration.push(score);
    if (state.calibration.length >= settings.calibrationWindows) calibrate(state, spec, windowMs, trained);
    return;
  }
  if (2 * countAbove(state.recent, state.bodyLimit!) > state.recent.length) return;
  if (score > state.spot.tail) state.unfitted++;
  const refit = state.unfitted >= settings.refitEvery;
  if (refit) state.unfitted = 0;
  stepSpot(state.spot, score, threshold, refit);
  // The rise is paced by the windows that teach: a machine held by the other rules keeps its bar.
  const target = Math.max(spec.floor, state.spot.threshold);
  state.threshold = Math.min(target, threshold * settings.risePerDay ** (windowMs / 86_400_000));
}

/** SPOT on the collected scores; the threshold starts from the trained one, lower at once, higher at the rise's pace. */
function calibrate(state: OnlineThresholdState, spec: OnlineThresholdSpec, windowMs: number, trained: number): void {
  const scores = state.calibration;
  state.calibration = [];
  const tail = quantile(scores, ONLINE_THRESHOLD.level);
  const above = scores.filter((s) => s > tail).length;
  // Ties at the top (a score that saturates) leave no tail to fit: collect afresh, the fixed threshold stays.
  if (above < MIN_PEAKS) return;
  state.spot = initSpot(scores, { q: perWindowRisk(spec.falseAlertsPerDay, windowMs), level: ONLINE_THRESHOLD.level, maxPeaks: ONLINE_THRESHOLD.maxPeaks });
  state.bodyLimit = quantile(scores, ONLINE_THRESHOLD.bodyQuantile);
  state.threshold = Math.min(trained, Math.max(spec.floor, state.spot.threshold));
}

function countAbove(values: readonly number[], line: number): number {
  let n = 0;
  for (const v of values) if (v > line) n++;
  return n;
}
