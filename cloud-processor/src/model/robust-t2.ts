// The robust Hotelling T² model's score, shared by training and scoring. A window's features x (mean and
// rms of every sensor) are compared with what they should be at the window's operating point, e (the
// training location moved by the operating point's share, see OperatingPoint): D² = (x − e)ᵀ C⁻¹ (x − e),
// anomalous above the threshold stored with the model. Model files may also carry a slow per-machine
// baseline (τ; training gives one only where it was short, see MODEL_DEFAULTS.robustT2): it starts at
// the training location and follows the machine through windows that were normal, so a level that
// wanders over hours is not an alarm, while a window that exceeds never teaches it anything.
// A model of a class of machines learns the level of a machine training never saw from that machine's
// first hours of windows (calibrating its level, below; those windows are held, not decided), and a
// model may ask for a threshold that follows each machine (online-threshold.ts).
import { MODEL_DEFAULTS } from './defaults.js';
import { currentThreshold, initialOnlineThreshold, learnOnlineThreshold, type OnlineThresholdSpec, type OnlineThresholdState } from './online-threshold.js';
import { median } from './robust-stats.js';

/** A robust-t2.json in memory, in the shapes scoring wants. */
export interface RobustT2Model {
  d: number;
  location: Float64Array;
  /** C⁻¹ row-major, d × d. */
  precision: Float64Array;
  threshold: number;
  /** null: no baseline, every window is compared with `location`. */
  tauMs: number | null;
  /** null: the location does not move with the operating point. */
  operatingPoint: OperatingPoint | null;
  /** Machine id → its normal level's offset from `location` (a model of a class of machines; see training). */
  machineOffsets?: ReadonlyMap<string, Float64Array>;
  /** Set: each machine's threshold follows it online (online-threshold.ts); unset: `threshold` for every window. */
  onlineThreshold?: OnlineThresholdSpec;
}

/**
 * How the expected features move with the machine's operating point (a speed, a load, a flow): by
 * slope·u + curve·u², u = (x[feature] − center)/scale, the operating feature standardised, inside the
 * range training saw; beyond it along the curve's tangent at the range's end — a quadratic carried on
 * would bend anywhere (back down, below zero), a tangent keeps the relation's direction. A set-point a
 * little beyond the trained ones (the simulated fan: a tenth of the range) is then no alarm by itself.
 */
export interface OperatingPoint {
  /** Index of the operating feature among the features. */
  feature: number;
  center: number;
  scale: number;
  /** The trained range of u. */
  min: number;
  max: number;
  slope: Float64Array;
  curve: Float64Array;
}

/**
 * The baseline of one machine under one model version: plain numbers only, so it can be written to disk
 * and read back as it is (persisting it across a restart is a later step).
 */
export interface BaselineState {
  baseline: number[];
  /** windowEnd (epoch ms) of the newest window decided so far; -Infinity when none. */
  decidedUntil: number;
  /**
   * The baseline each of the newest decided windows was compared with, oldest first (at most
   * MODEL_DEFAULTS.scorer.recentDecisions): a window decided again — a redelivery after a failed
   * write, a late revision — is compared with the same baseline, so it gets the same decision and its
   * points overwrite themselves with the same content. `calibrating`: the window was held while the
   * level was learnt.
   */
  recent: { windowEnd: number; baseline: number[]; threshold?: number; calibrating?: true }[];
  /**
   * A machine a class model's training never saw, while its level is being learnt: per feature, its
   * non-overlapping windows' differences from what the class expects (x − expected), and the end of
   * the newest one taken. Absent once the level is learnt (it is then in `baseline`) or not needed.
   */
  level?: { residuals: number[][]; until: number };
  /** The machine's own threshold, for a model with `onlineThreshold`. */
  online?: OnlineThresholdState;
  /** The features of the newest normal windows the baseline has not learnt yet, oldest first (see learnBaseline). */
  pending?: number[][];
  /**
   * How unsure the baseline is of the level after a gap, as a multiple of the training covariance
   * (widenAfterGap); absent when no more than in steady state.
   */
  spread?: number;
}

/**
 * Where a machine starts: the location, moved by the machine's own offset when training knew it. A
 * machine a class model (one with machineOffsets) does not know starts at the class location and learns
 * its level (learnLevel).
 */
export function initialBaseline(model: RobustT2Model, machineId: string): BaselineState {
  const offset = model.machineOffsets?.get(machineId);
  const state: BaselineState = { baseline: Array.from(model.location, (m, j) => m + (offset?.[j] ?? 0)), decidedUntil: -Infinity, recent: [] };
  if (model.machineOffsets !== undefined && model.machineOffsets.size > 0 && offset === undefined) {
    state.level = { residuals: Array.from({ length: model.d }, () => []), until: -Infinity };
  }
  if (model.onlineThreshold !== undefined) state.online = initialOnlineThreshold();
  return state;
}

/**
 * The threshold the window ending at `windowEnd` is judged against: the model's, or the machine's own
 * online one (for a window decided before, the one it was decided against, as baselineFor).
 */
export function thresholdFor(model: RobustT2Model, state: BaselineState, windowEnd: number): number {
  if (windowEnd <= state.decidedUntil) {
    for (let i = state.recent.length - 1; i >= 0; i--) if (state.recent[i]!.windowEnd === windowEnd) return state.recent[i]!.threshold ?? model.threshold;
  }
  const threshold = state.online === undefined ? model.threshold : currentThreshold(state.online, model.threshold);
  return threshold * gapWidening(state);
}

/** How much a gap widens a new window's threshold: x − b is then the window's own spread plus the baseline's, so D² grows by (1 + spread). */
export function gapWidening(state: BaselineState): number {
  return 1 + (state.spread ?? 0);
}

/**
 * Before a new window starting at `windowStart` is decided (ask before learnBaseline): the time since
 * the newest decided window ended makes the baseline less sure of the level, which may have wandered
 * meanwhile, by MODEL_DEFAULTS.robustT2.gapSpreadPerTau training covariances per τ, as a random walk
 * would (the machine stopped — the running-state gate held its windows —, or its data did not come).
 * The normal windows waiting to teach it (learnBaseline) are from before the gap: they go. Only a
 * model with a baseline; a machine's first window has no gap to measure.
 */
export function widenAfterGap(model: RobustT2Model, state: BaselineState, windowStart: number): void {
  const gapMs = windowStart - state.decidedUntil;
  if (model.tauMs === null || !(gapMs > 0) || !Number.isFinite(gapMs)) return;
  state.spread = (state.spread ?? 0) + (MODEL_DEFAULTS.robustT2.gapSpreadPerTau * gapMs) / model.tauMs;
  delete state.pending;
}

/**
 * Whether the window ending at `windowEnd` is held because the machine's level is still being learnt
 * (learnMachine, below): it is compared with the class location, not this machine's level, so its
 * score would alarm on the machine's own level rather than on a fault. A window decided before keeps the
 * decision it had, as baselineFor.
 */
export function calibratingFor(state: BaselineState, windowEnd: number): boolean {
  if (windowEnd <= state.decidedUntil) {
    for (let i = state.recent.length - 1; i >= 0; i--) if (state.recent[i]!.windowEnd === windowEnd) return state.recent[i]!.calibrating === true;
  }
  return state.level !== undefined;
}

/**
 * The baseline the window ending at `windowEnd` is compared with: for a new window the current one; for
 * a window decided before, the one it was decided against. An older window never decided (out of order,
 * or beyond the remembered ones) gets the current baseline: the closest there is to its own time.
 */
export function baselineFor(state: BaselineState, windowEnd: number): readonly number[] {
  if (windowEnd > state.decidedUntil) return state.baseline;
  for (let i = state.recent.length - 1; i >= 0; i--) if (state.recent[i]!.windowEnd === windowEnd) return state.recent[i]!.baseline;
  return state.baseline;
}

/**
 * What the window `x` is compared with: the machine's baseline moved to the window's operating point.
 * Written into `out` (length d), which is returned.
 */
export function expectedFeatures(model: RobustT2Model, x: ArrayLike<number>, baseline: ArrayLike<number>, out: Float64Array): Float64Array {
  const op = model.operatingPoint;
  if (op === null) {
    for (let j = 0; j < model.d; j++) out[j] = baseline[j]!;
    return out;
  }
  const u = (x[op.feature]! - op.center) / op.scale;
  const edge = Math.min(op.max, Math.max(op.min, u));
  const beyond = u - edge;
  for (let j = 0; j < model.d; j++) {
    out[j] = baseline[j]! + op.slope[j]! * edge + op.curve[j]! * edge * edge + (op.slope[j]! + 2 * op.curve[j]! * edge) * beyond;
  }
  return out;
}

/**
 * D² of `x` against `baseline`, and each feature's term rⱼ·(C⁻¹r)ⱼ into `terms` (they sum to D²).
 * `r` is scratch space of length d.
 */
export function t2Score(model: RobustT2Model, x: ArrayLike<number>, baseline: ArrayLike<number>, r: Float64Array, terms: Float64Array): number {
  const { d, precision } = model;
  for (let j = 0; j < d; j++) r[j] = x[j]! - baseline[j]!;
  let total = 0;
  for (let i = 0; i < d; i++) {
    let pr = 0;
    const row = i * d;
    for (let j = 0; j < d; j++) pr += precision[row + j]! * r[j]!;
    terms[i] = r[i]! * pr;
    total += terms[i]!;
  }
  return total;
}

/**
 * After a new window (ending after every window decided before; ask before learnBaseline, which marks
 * it decided) was scored: its level difference joins
 * a new machine's level calibration, if it does not overlap the previous one taken; the level is the
 * median per feature of minMachineWindows of them (as training learns a known machine's), then frozen
 * into the baseline. Every window the running-state gate let through counts, exceeding or not: a level
 * unlike the class's exceeds by construction, and the median keeps a fault in fewer than half of the
 * windows from moving it. Then the machine's online threshold learns the score.
 */
export function learnMachine(model: RobustT2Model, state: BaselineState, x: ArrayLike<number>, expected: ArrayLike<number>, score: number, windowStart: number, windowEnd: number): void {
  const level = state.level;
  if (level !== undefined) {
    if (windowStart >= level.until) {
      level.until = windowEnd;
      for (let j = 0; j < model.d; j++) level.residuals[j]!.push(x[j]! - expected[j]!);
      if (level.residuals[0]!.length >= MODEL_DEFAULTS.robustT2.minMachineWindows) {
        for (let j = 0; j < model.d; j++) state.baseline[j]! += median(level.residuals[j]!);
        delete state.level;
      }
    }
    // A threshold calibrated against the class location would be the wrong machine's: it waits for the level.
    return;
  }
  if (state.online !== undefined && model.onlineThreshold !== undefined) {
    learnOnlineThreshold(state.online, model.onlineThreshold, windowEnd - windowStart, score, model.threshold);
  }
}

/**
 * After a window ending at `windowEnd` was decided against `expected` (expectedFeatures): if it is newer
 * than every window decided before (a revised or late older window teaches nothing) and did not exceed,
 * it waits until MODEL_DEFAULTS.robustT2.baselineDelayWindows newer windows did not exceed either; then
 * the baseline moves by (W/τ)(x − expected), expected at that time. The decision of a window therefore
 * depends only on windows that ended before it. `threshold` (thresholdFor) is remembered with the
 * window, for a redelivery.
 */
export function learnBaseline(
  model: RobustT2Model,
  state: BaselineState,
  x: ArrayLike<number>,
  expected: ArrayLike<number>,
  windowMs: number,
  windowEnd: number,
  exceeded: boolean,
  threshold = model.threshold,
): void {
  if (windowEnd <= state.decidedUntil) return;
  state.decidedUntil = windowEnd;
  // While the baseline stays where it is (no τ; a level being learnt; windows that exceeded), the decided
  // windows share one array of it: a copy per window was 64 × d doubles a machine, ~13 MB at 1,000
  // machines of 10 features, growing for the 11 minutes the 64 windows take (issue #17's soak).
  const last = state.recent.at(-1)?.baseline;
  const baseline = last !== undefined && last.every((value, j) => Object.is(value, state.baseline[j])) ? last : [...state.baseline];
  const ownThreshold = state.online !== undefined || state.spread !== undefined;
  state.recent.push({ windowEnd, baseline, ...(ownThreshold ? { threshold } : {}), ...(state.level !== undefined ? { calibrating: true as const } : {}) });
  if (state.recent.length > MODEL_DEFAULTS.scorer.recentDecisions) state.recent.shift();
  if (model.tauMs === null) return;
  // A window teaches only once the windows after it stayed normal too: an exceedance discards the ones
  // still waiting, so the quiet start of a fault (a ramp below the threshold) is not learnt.
  if (exceeded) {
    delete state.pending;
    return;
  }
  const pending = (state.pending ??= []);
  pending.push(Array.from(x));
  if (pending.length <= MODEL_DEFAULTS.robustT2.baselineDelayWindows) return;
  const confirmed = pending.shift()!;
  const confirmedExpected = expectedFeatures(model, confirmed, state.baseline, new Float64Array(model.d));
  const rate = Math.min(1, windowMs / model.tauMs);
  // After a gap, the Kalman gain of a level as unsure as `spread` against a window's own spread (1):
  // the first normal windows after it set the level, averaged, until the gain is back down to W/τ.
  const spread = state.spread ?? 0;
  const gain = Math.max(rate, spread / (1 + spread));
  for (let j = 0; j < model.d; j++) state.baseline[j]! += gain * (confirmed[j]! - confirmedExpected[j]!);
  if (state.spread === undefined) return;
  const left = spread / (1 + spread);
  if (left / (1 + left) <= rate) delete state.spread;
  else state.spread = left;
}
