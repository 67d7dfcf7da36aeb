// The adaptive-z model: a univariate adaptive baseline for machines with one or two slow sensors (a
// temperature every 5 minutes), where a window holds one reading and nothing inside a window can tell
// normal from abnormal — the context is the machine's own history across windows. For each feature (a
// sensor's window mean) three causal z-scores are taken against exponentially weighted statistics of the
// machine's past:
//   point     z₁ = |x − mean| / sd of the previous values;
//   short     z₂ of the mean of the last `shortWindows` values against the earlier short means (lagged by
//             `shortWindows`, so an excursion does not calibrate itself);
//   seasonal  z₃ of the short mean minus the short mean one period earlier, when training found a period.
// The window's score is the largest z of any feature; it is anomalous above `threshold` (7 σ: the
// Gaussian tail is a poor guide for real series, which is why the threshold sits far out). Measured on
// NAB (docs/detection-research.md §3b): 61 with alerts opened on the first exceeding window.
//
// Every lag counts window SLOTS of time, not windows received: a window that never came (a gateway
// outage, a skipped sample, a gap in a CSV) is a hole, stepped as a value that is not there (skipWindows),
// so the seasonal term still compares with the same time of the season and the short lag spans the time
// it was trained on. A short mean over slots with holes is the mean of the values present if they fill at
// least half of the slots; the seasonal term takes complete short means only (one of fewer values sits at
// another time of the season than the full means it is compared with). A gap of a period or more forgets
// the short term but keeps the season at its phase (skipFeature), in training series and scoring alike.
//
// The state of a machine is plain numbers, so it can be written to disk and read back as it is. A machine
// starts from the training series (the model's history), so `pdm score` after `pdm train` on the start of
// a recording continues exactly where training stopped.

/** The per-feature parameters of a trained model. */
export interface AdaptiveZFeature {
  /** Dominant period in windows found in the training series (0: none, no seasonal term). */
  period: number;
  /** The training series, one value per window slot, oldest first (NaN: a hole): every machine's history starts with it. */
  history: readonly number[];
}

export interface AdaptiveZModel {
  features: readonly AdaptiveZFeature[];
  /** Windows in the short mean. */
  shortWindows: number;
  /** Effective length of the exponentially weighted statistics, in windows (α = max(1/n, 1/L)). */
  historyWindows: number;
  threshold: number;
  /** windowEnd (epoch ms) of the training series' last slot; absent in older models (the first window follows it directly). */
  historyEnd?: number;
}

/** Exponentially weighted mean and variance; a running mean and variance until `count` reaches L. */
interface Moments {
  count: number;
  mean: number;
  variance: number;
}

/** One feature's state: its statistics and the recent values its lagged and seasonal terms need. */
export interface FeatureState {
  point: Moments;
  short: Moments;
  seasonal: Moments;
  /** The newest slots' values (NaN: a hole), oldest first (at most shortWindows). */
  values: number[];
  /** The newest short means (NaN before shortWindows values), oldest first: shortWindows + 1 of them. */
  shortMeans: number[];
  /** What the newest `period` windows' seasonal differences are taken against a period later, oldest first. */
  seasonalReferences: number[];
  /** The newest seasonal differences (NaN when not defined), oldest first: shortWindows + 1 of them. */
  seasonalDiffs: number[];
}

const noMoments = (): Moments => ({ count: 0, mean: 0, variance: 0 });

export function initialFeatureState(): FeatureState {
  return { point: noMoments(), short: noMoments(), seasonal: noMoments(), values: [], shortMeans: [], seasonalReferences: [], seasonalDiffs: [] };
}

function learn(m: Moments, value: number, historyWindows: number): void {
  if (!Number.isFinite(value)) return;
  m.count++;
  const rate = Math.max(1 / m.count, 1 / historyWindows);
  const delta = value - m.mean;
  m.mean += rate * delta;
  m.variance = (1 - rate) * (m.variance + rate * delta * delta);
}

/** How far `value` lies from what `m` has seen, in its standard deviations. A flat history that moves scores FLAT_MOVED. */
function zOf(m: Moments, value: number): number {
  if (m.count < 2 || !Number.isFinite(value)) return 0;
  const tolerance = 1e-12 * (Math.abs(m.mean) + 1);
  const sd = Math.sqrt(m.variance);
  if (sd > tolerance) return Math.abs(value - m.mean) / sd;
  return Math.abs(value - m.mean) > tolerance ? FLAT_MOVED : 0;
}

/** The score of a value leaving a history that never varied: far above any threshold, but finite. */
export const FLAT_MOVED = 50;

/** Keeps the newest `keep` entries of `list` after pushing `value`. */
function pushBounded(list: number[], value: number, keep: number): void {
  list.push(value);
  if (list.length > keep) list.shift();
}

/** The mean of the values present in the last m slots when they fill at least half of them (else NaN), and whether all are present. */
function shortMeanOf(values: readonly number[], m: number): { mean: number; complete: boolean } {
  if (values.length < m) return { mean: Number.NaN, complete: false };
  let sum = 0;
  let present = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    sum += v;
    present++;
  }
  return { mean: present >= m / 2 ? sum / present : Number.NaN, complete: present === m };
}

/**
 * Scores the next value of one feature and learns it: the three z-scores use only values before this
 * one (and, for the short and seasonal terms, only those more than shortWindows back). Returns max z.
 */
export function stepFeature(model: AdaptiveZModel, feature: AdaptiveZFeature, state: FeatureState, x: number): number {
  const { shortWindows: m, historyWindows: L } = model;
  const z1 = zOf(state.point, x);
  learn(state.point, x, L);

  pushBounded(state.values, x, m);
  const { mean: shortMean, complete } = shortMeanOf(state.values, m);
  // The short mean m + 1 windows back joins the statistics the current one is judged against.
  learn(state.short, state.shortMeans.length > m ? state.shortMeans[state.shortMeans.length - m - 1]! : Number.NaN, L);
  const z2 = zOf(state.short, shortMean);

  let z3 = 0;
  if (feature.period > 0) {
    const refs = state.seasonalReferences;
    const back = refs.length >= feature.period ? refs[refs.length - feature.period]! : Number.NaN;
    // A complete short mean only (see the top of the file).
    const seasonalMean = complete ? shortMean : Number.NaN;
    const seasonalDiff = seasonalMean - back;
    learn(state.seasonal, state.seasonalDiffs.length > m ? state.seasonalDiffs[state.seasonalDiffs.length - m - 1]! : Number.NaN, L);
    z3 = zOf(state.seasonal, seasonalDiff);
    pushBounded(state.seasonalDiffs, seasonalDiff, m + 1);
    // What one period from now is compared with: not an excursion (it would alarm again a period later,
    // as its mirror image), but what the season predicted for this window.
    const excursion = Math.max(z1, z2, z3) > model.threshold && Number.isFinite(back);
    pushBounded(refs, excursion ? back + state.seasonal.mean : seasonalMean, feature.period);
  }
  pushBounded(state.shortMeans, shortMean, m + 1);
  return Math.max(z1, z2, z3);
}

/**
 * Steps one feature over `count` window slots that had no window. Shorter than a period, they are holes
 * one by one. A period or more would leave no seasonal reference at all (the seasonal term silent for a
 * whole period after the outage), so then only the short-term parts step over holes — after
 * 2·shortWindows + 1 of them every remembered value, short mean and seasonal difference is undefined and
 * further holes change nothing — and the seasonal references stay those of the last period before the
 * outage, turned by count mod period so the next slot meets the one at its phase. A long outage costs
 * O(period + shortWindows) work, whatever its length.
 */
function skipFeature(model: AdaptiveZModel, feature: AdaptiveZFeature, state: FeatureState, count: number): void {
  const { period } = feature;
  const shortTerm = 2 * model.shortWindows + 1;
  if (count < period || period === 0) {
    for (let i = 0; i < Math.min(count, Math.max(period, shortTerm)); i++) stepFeature(model, feature, state, Number.NaN);
    return;
  }
  // Slot order: refs[i] is the reference of the slot period − i before the next one (NaN: none yet).
  const refs = [...new Array<number>(period - state.seasonalReferences.length).fill(Number.NaN), ...state.seasonalReferences];
  for (let i = 0; i < Math.min(count, shortTerm); i++) stepFeature(model, feature, state, Number.NaN);
  const shift = count % period;
  state.seasonalReferences = [...refs.slice(shift), ...refs.slice(0, shift)];
}

/** Steps every feature over `count` window slots that had no window (see skipFeature). */
export function skipWindows(model: AdaptiveZModel, states: FeatureState[], count: number): void {
  model.features.forEach((feature, j) => skipFeature(model, feature, states[j]!, count));
}

/** A machine's state at the end of the model's training series; its gaps are stepped over as scoring steps over an outage. */
export function warmState(model: AdaptiveZModel): FeatureState[] {
  return model.features.map((feature) => {
    const state = initialFeatureState();
    let holes = 0;
    for (const x of feature.history) {
      if (!Number.isFinite(x)) {
        holes++;
        continue;
      }
      skipFeature(model, feature, state, holes);
      holes = 0;
      stepFeature(model, feature, state, x);
    }
    skipFeature(model, feature, state, holes);
    return state;
  });
}

/**
 * Scores one window's features (contract order) and learns them; `zs` receives each feature's z.
 * Returns the window's score, the largest of them.
 */
export function stepWindow(model: AdaptiveZModel, states: FeatureState[], x: ArrayLike<number>, zs: Float64Array): number {
  let score = 0;
  model.features.forEach((feature, j) => {
    zs[j] = stepFeature(model, feature, states[j]!, x[j]!);
    score = Math.max(score, zs[j]);
  });
  return score;
}

/**
 * The lag in [minPeriod, n/2] (and at most maxPeriod) with the highest autocorrelation of `series` (one value
 * per window slot, NaN for a hole: pairs with a hole are left out, and a lag needs pairs for half the
 * values), if that autocorrelation exceeds `minAutocorrelation`; else 0 (no period).
 */
export function dominantPeriod(series: readonly number[], options: { minPeriod: number; maxPeriod: number; minAutocorrelation: number }): number {
  const n = series.length;
  const present = series.filter(Number.isFinite);
  const mean = present.reduce((a, b) => a + b, 0) / present.length;
  const centred = series.map((v) => v - mean);
  const energy = present.reduce((a, v) => a + (v - mean) * (v - mean), 0);
  if (!(energy > 0)) return 0;
  let best = 0;
  let bestCorrelation = options.minAutocorrelation;
  for (let lag = options.minPeriod; lag <= Math.min(Math.floor(n / 2), options.maxPeriod); lag++) {
    let sum = 0;
    let pairs = 0;
    for (let i = lag; i < n; i++) {
      const product = centred[i]! * centred[i - lag]!;
      if (!Number.isFinite(product)) continue;
      sum += product;
      pairs++;
    }
    // As many pairs as a lag of n/2 has without holes, at least: a correlation of a few pairs across
    // sparse data is chance.
    if (pairs < present.length / 2) continue;
    // Scaled by values/pairs so long lags are not penalised for having fewer pairs.
    const correlation = ((sum / energy) * present.length) / pairs;
    if (correlation > bestCorrelation) {
      bestCorrelation = correlation;
      best = lag;
    }
  }
  return best;
}
