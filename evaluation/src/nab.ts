// The Numenta Anomaly Benchmark's scoring rules (numenta/NAB, nab/sweeper.py), written anew from
// their description; the benchmark proves them against NAB's published per-row scores.
//
// Per file, at one threshold (a row is a detection when the detector said "anomalous"):
// - Probation: the first min(floor(15 % of the rows), 750) rows are not scored at all.
// - A labelled window that gets a detection earns tpWeight · σ(p) / σ(-1), where p is the position of
//   its FIRST detection (later ones in the same window count for nothing): p = -(right - i + 1) / width
//   for row i of a window whose last row is `right` and which holds `width` rows, so p runs from -1
//   (first row) towards 0 (last row), and σ(p) = 2 / (1 + e^(5p)) - 1 is the scaled sigmoid
//   (σ(-1) = 0.98661, so the first row earns exactly tpWeight).
// - A window with no detection costs fnWeight.
// - A detection outside every window costs fpWeight · σ(d) (σ(d) is negative for d > 0) where d is
//   its distance after the end of the previous window, (i - right) / (width - 1) in rows of that
//   window; σ is -1 from d ≥ 3 on, and before the first window a false positive costs the full fpWeight.
// The corpus score of a profile is the sum over its files, normalised to
//   100 · (S - S_null) / (S_perfect - S_null)
// where the null detector never detects (S_null = -fnWeight per window holding a scored row: the
// sweeper leaves a window wholly inside probation out) and the perfect one detects every window at its
// first row (S_perfect = tpWeight per window of the labels, as NAB's runner.normalize counts them,
// probation or not).

export interface NabProfile {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export const NAB_PROFILE_NAMES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;
export type NabProfileName = (typeof NAB_PROFILE_NAMES)[number];

/** NAB's three application profiles (config/profiles.json; tnWeight is unused by the scoring). */
export const NAB_PROFILES: Record<NabProfileName, NabProfile> = {
  standard: { tpWeight: 1.0, fpWeight: 0.11, fnWeight: 1.0 },
  reward_low_FP_rate: { tpWeight: 1.0, fpWeight: 0.22, fnWeight: 1.0 },
  reward_low_FN_rate: { tpWeight: 1.0, fpWeight: 0.11, fnWeight: 2.0 },
};

const PROBATION_SHARE = 0.15;
const PROBATION_CAP_ROWS = 750;

/** Rows at the start of a file that are learnt from and never scored. */
export function nabProbationRows(rows: number): number {
  return Math.min(Math.floor(PROBATION_SHARE * rows), PROBATION_CAP_ROWS);
}

/** NAB's scaled sigmoid of a relative position: +0.98661 at -1, 0 at 0, -0.98661 at 1, -1 from 3 on. */
export function scaledSigmoid(position: number): number {
  if (position >= 3) return -1;
  return 2 / (1 + Math.exp(5 * position)) - 1;
}

/** A labelled anomaly window, both ends included (NAB's labels name its first and last row). */
export interface NabWindow {
  start: number;
  end: number;
}

export interface NabFileScore {
  score: number;
  /** Every labelled window of the file, scored or not (S_perfect counts them all). */
  labelledWindows: number;
  /** Windows holding at least one scored row, and how many of those got a detection. */
  windows: number;
  detectedWindows: number;
  /** Scored rows by verdict (NAB's own counts: rows in a window vs outside, detected or not). */
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

interface RowWindow {
  first: number;
  last: number;
}

/** The rows each window spans; the windows must not overlap (parseNabLabels refuses labels where they do). */
function windowRows(timestamps: readonly number[], windows: readonly NabWindow[]): RowWindow[] {
  const spans: RowWindow[] = [];
  for (const window of [...windows].sort((a, b) => a.start - b.start)) {
    let first = -1;
    let last = -1;
    for (const [i, t] of timestamps.entries()) {
      if (t < window.start) continue;
      if (t > window.end) break;
      if (first < 0) first = i;
      last = i;
      // NAB closes a window at the first row holding its end time (timestamps.index(end)): a repeat
      // of that time (NAB's files have them where clocks went back) lies after the window.
      if (t === window.end) break;
    }
    if (first >= 0) spans.push({ first, last });
  }
  return spans;
}

/**
 * Scores one file. `timestamps` in time order (readRecording refuses a file whose rows are not),
 * `detections[i]` 1 when row i is a detection, `probationRows` defaults to NAB's rule for the file's
 * length.
 */
export function scoreNabFile(
  timestamps: readonly number[],
  detections: ArrayLike<number>,
  windows: readonly NabWindow[],
  profile: NabProfile,
  probationRows = nabProbationRows(timestamps.length),
): NabFileScore {
  const spans = windowRows(timestamps, windows);
  const maxTp = scaledSigmoid(-1);
  const result: NabFileScore = { score: 0, labelledWindows: windows.length, windows: 0, detectedWindows: 0, tp: 0, fp: 0, fn: 0, tn: 0 };

  let next = 0; // the first window that has not ended before the current row
  let previous: RowWindow | undefined; // the last window that ended before the current row
  let detectedCurrent = false;
  for (let i = 0; i < timestamps.length; i++) {
    while (next < spans.length && spans[next]!.last < i) {
      previous = spans[next];
      next++;
      detectedCurrent = false;
    }
    const window = spans[next] !== undefined && spans[next]!.first <= i ? spans[next]! : undefined;
    if (i < probationRows) continue;
    const detected = detections[i] === 1;
    if (window) {
      if (i === Math.max(window.first, probationRows)) result.windows++;
      if (!detected) {
        result.fn++;
        continue;
      }
      result.tp++;
      if (detectedCurrent) continue;
      detectedCurrent = true;
      result.detectedWindows++;
      const width = window.last - window.first + 1;
      result.score += (scaledSigmoid(-(window.last - i + 1) / width) * profile.tpWeight) / maxTp;
    } else if (detected) {
      result.fp++;
      if (!previous) {
        result.score -= profile.fpWeight;
      } else {
        // A one-row window gives no scale; NAB divides by zero there, we take it as far past.
        const width = previous.last - previous.first + 1;
        const distance = width > 1 ? (i - previous.last) / (width - 1) : Infinity;
        result.score += scaledSigmoid(distance) * profile.fpWeight;
      }
    } else {
      result.tn++;
    }
  }
  result.score -= (result.windows - result.detectedWindows) * profile.fnWeight;
  return result;
}

export interface NabCorpusScore {
  /** Sum of the files' scores. */
  score: number;
  /**
   * What never detecting scores on the same files (-fnWeight per window holding a scored row), and
   * detecting every window at its first row (tpWeight per labelled window, probation or not, as NAB).
   */
  nullScore: number;
  perfectScore: number;
  /** 100 · (score - nullScore) / (perfectScore - nullScore); NaN without windows. */
  normalised: number;
}

/** NAB's figure for a set of files under one profile. */
export function nabCorpusScore(files: readonly NabFileScore[], profile: NabProfile): NabCorpusScore {
  const score = files.reduce((sum, f) => sum + f.score, 0);
  const scored = files.reduce((sum, f) => sum + f.windows, 0);
  const labelled = files.reduce((sum, f) => sum + f.labelledWindows, 0);
  const nullScore = -profile.fnWeight * scored;
  const perfectScore = profile.tpWeight * labelled;
  return { score, nullScore, perfectScore, normalised: (100 * (score - nullScore)) / (perfectScore - nullScore) };
}
