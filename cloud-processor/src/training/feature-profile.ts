// The feature profile written beside every trained model (model/feature-profile.ts): per feature, bins
// cut at its training quantiles and the training share of each, which live windows are later compared
// with (scoring/drift.ts).
//
// Bins: deciles (10 bins) from 300 training windows on; with fewer, one bin per 30 windows (at least
// 2). The profile's own sampling noise adds about (bins − 1) / windows to every PSI a processor
// reports, 0.03 at most this way — 10 deciles of the 12-window minimum would add 0.75, three times the
// retrain threshold, for data that had not moved at all.
// Ties: quantiles that coincide (a feature often at one value) make one edge, so fewer bins. When the
// lowest edge is the training minimum (a constant feature, or a floor most windows sit on), an edge
// just below it is added: a value under anything training saw then lands in a bin of training share 0
// and counts as drift, as a value above the highest edge already does.
import { binOf, type FeatureBins, type FeatureProfileFile } from '../model/feature-profile.js';

export const FEATURE_PROFILE_DEFAULTS = {
  maxBins: 10,
  /** Training windows per bin below maxBins × this. */
  windowsPerBin: 30,
  minBins: 2,
} as const;

export function binCount(windows: number): number {
  const { maxBins, windowsPerBin, minBins } = FEATURE_PROFILE_DEFAULTS;
  return Math.min(maxBins, Math.max(minBins, Math.floor(windows / windowsPerBin)));
}

/** The largest double below x (x finite). */
function nextDown(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  const value = new Float64Array([x]);
  const bits = new BigInt64Array(value.buffer);
  bits[0] = bits[0]! + (x > 0 ? -1n : 1n);
  return value[0]!;
}

/** One feature's bins from its training values (any order). */
export function featureBins(values: ArrayLike<number>): FeatureBins {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) throw new RangeError('no training values to profile');
  const bins = binCount(n);
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    // Nearest rank: the smallest value with at least k/bins of the windows at or below it.
    const q = sorted[Math.ceil((k * n) / bins) - 1]!;
    if (edges.length === 0 || q > edges.at(-1)!) edges.push(q);
  }
  if (edges[0] === sorted[0]) edges.unshift(nextDown(sorted[0]!));
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of sorted) counts[binOf(edges, v)]!++;
  return { edges, shares: counts.map((c) => c / n) };
}

/** The profile of a model's training rows (row i: the feature vector of training window i). */
export function fitFeatureProfile(featureNames: readonly string[], rows: readonly ArrayLike<number>[]): FeatureProfileFile {
  return {
    featureNames: [...featureNames],
    windows: rows.length,
    features: featureNames.map((_, j) => featureBins(rows.map((row) => row[j]!))),
  };
}
