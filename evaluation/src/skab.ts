// The SKAB leaderboard's outlier-detection protocol (waico/SKAB), pointwise: in each file the first
// 400 data rows train and the rest test; every test row is a true/false positive/negative against
// its `anomaly` label; the counts are summed over the files before the metrics are taken.
//   F1  = TP / (TP + (FP + FN) / 2)
//   FAR = FP / (FP + TN)   false-alarm rate
//   MAR = FN / (FN + TP)   missed-alarm rate

/** Rows 1–400 of every file are the training split. */
export const SKAB_TRAIN_ROWS = 400;
/** SKAB's ground-truth columns: labels, not sensors. */
export const SKAB_LABEL_COLUMN = 'anomaly';
export const SKAB_NON_SENSOR_COLUMNS = ['anomaly', 'changepoint'] as const;

export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface SkabFileResult extends Confusion {
  /** Test rows (after the training split). */
  rows: number;
  /** Test rows labelled anomalous. */
  anomalous: number;
  /** Test rows no scored window holds; they count as decided normal. */
  undecided: number;
}

export interface SkabMetrics {
  /** NaN when undefined (no positives at all, no negatives at all). */
  f1: number;
  far: number;
  mar: number;
}

/** Counts the test rows of one file: rows from `trainRows` on, label against decision. */
export function skabFile(labels: Uint8Array, anomalous: Uint8Array, decided: Uint8Array, trainRows = SKAB_TRAIN_ROWS): SkabFileResult {
  const result: SkabFileResult = { tp: 0, fp: 0, fn: 0, tn: 0, rows: 0, anomalous: 0, undecided: 0 };
  for (let i = trainRows; i < labels.length; i++) {
    const truth = labels[i] === 1;
    const said = anomalous[i] === 1;
    result.rows++;
    if (truth) result.anomalous++;
    if (decided[i] !== 1) result.undecided++;
    if (truth && said) result.tp++;
    else if (!truth && said) result.fp++;
    else if (truth) result.fn++;
    else result.tn++;
  }
  return result;
}

export function sumSkab(files: readonly SkabFileResult[]): SkabFileResult {
  const total: SkabFileResult = { tp: 0, fp: 0, fn: 0, tn: 0, rows: 0, anomalous: 0, undecided: 0 };
  for (const file of files) for (const key of Object.keys(total) as (keyof SkabFileResult)[]) total[key] += file[key];
  return total;
}

export function skabMetrics({ tp, fp, fn, tn }: Confusion): SkabMetrics {
  return { f1: tp / (tp + (fp + fn) / 2), far: fp / (fp + tn), mar: fn / (fn + tp) };
}

/** What a detector that never alarms, or always alarms, scores on the same rows: the baselines. */
export function skabBaselines(total: SkabFileResult): { never: Confusion; always: Confusion } {
  const positives = total.tp + total.fn;
  const negatives = total.fp + total.tn;
  return {
    never: { tp: 0, fp: 0, fn: positives, tn: negatives },
    always: { tp: positives, fp: negatives, fn: 0, tn: 0 },
  };
}
