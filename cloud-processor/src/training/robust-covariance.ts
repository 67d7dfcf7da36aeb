// Robust location and covariance of training windows, MCD-style (Rousseeuw & Van Driessen's C-steps from
// one deterministic start, then reweighting). A few hundred seconds of "healthy" data often hold
// something that is not steady operation — a pump start, the first minutes of a fault — and a classical
// covariance stretches to cover it; fitting the tightest half and then keeping every window consistent
// with that half describes steady operation instead.
import { chiSquareSurvival, chiSquareUpperQuantile } from './chi-square.js';
import { covarianceOf, invertSpd, mahalanobisSq, meanOf } from './linalg.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { median } from '../model/robust-stats.js';

export interface RobustCovarianceOptions {
  /** Share of the windows each C-step keeps (1 = the classical estimate). */
  keepFraction: number;
  cSteps: number;
  /** After scaling for consistency, windows with D² above this χ²_k quantile (k: the features that vary) are left out of the refit. */
  reweightQuantile: number;
  /** Added to each feature's variance (the diagonal) in every fit: keeps C invertible and sets a floor. */
  ridge: ArrayLike<number>;
}

export interface RobustCovariance {
  location: Float64Array;
  covariance: Float64Array;
  /** Windows the final fit used. */
  inliers: number;
  /** median D² of the C-step fit over the χ²_k median (k: the features that vary): > 1 when the tightest half understates the spread. */
  consistency: number;
}

export function robustCovariance(rows: readonly ArrayLike<number>[], d: number, options: RobustCovarianceOptions): RobustCovariance {
  const fitOf = (subset: readonly ArrayLike<number>[], scale = 1): { location: Float64Array; covariance: Float64Array } => {
    const location = meanOf(subset, d);
    const covariance = covarianceOf(subset, location, d);
    for (let k = 0; k < d * d; k++) covariance[k]! *= scale;
    for (let j = 0; j < d; j++) covariance[j * d + j]! += options.ridge[j]!;
    return { location, covariance };
  };
  if (options.keepFraction >= 1) return { ...fitOf(rows), inliers: rows.length, consistency: 1 };

  // Start: coordinatewise median and MAD, as a diagonal scatter.
  let location: Float64Array = new Float64Array(d);
  let precision: Float64Array = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    const column = rows.map((r) => r[j]!);
    location[j] = median(column);
    const mad = 1.4826 * median(column.map((v) => Math.abs(v - location[j]!)));
    precision[j * d + j] = 1 / (mad * mad + options.ridge[j]! + 1e-18);
  }
  const keep = Math.min(rows.length, Math.max(d + 1, Math.floor(options.keepFraction * rows.length)));
  const distances = (): number[] => rows.map((r) => mahalanobisSq(precision, r, location, d));
  for (let step = 0; step < options.cSteps; step++) {
    const dist = distances();
    const closest = dist
      .map((_, i) => i)
      .sort((a, b) => dist[a]! - dist[b]!)
      .slice(0, keep);
    const fit = fitOf(closest.map((i) => rows[i]!));
    location = fit.location;
    precision = invertSpd(fit.covariance, d);
  }
  // Reweighting: scale the distances so their median is the χ²_k median, keep the consistent windows,
  // refit. k counts the features that vary: one at the same value in every window (a spare channel at
  // 0) adds nothing to any distance, so the distances are χ²_k, not χ²_d — taken as χ²_d, the cut and the
  // truncation below would be those of more dimensions than the data has.
  const k = Math.max(1, varyingFeatures(rows, d));
  const dist = distances();
  const consistency = median(dist) / chiSquareUpperQuantile(0.5, k);
  const cut = chiSquareUpperQuantile(1 - options.reweightQuantile, k);
  const inliers = rows.filter((_, i) => dist[i]! / consistency <= cut);
  if (inliers.length <= d) return { ...fitOf(rows), inliers: rows.length, consistency };
  // Windows inside the cut spread less than the population they come from: for normal data the
  // covariance of the points with D² ≤ cut = χ²_k quantile q is the true one times P(χ²_{k+2} ≤ cut) / q
  // (Croux & Haesbroeck 1999), so the refit is scaled back by its inverse; without it the χ² threshold
  // would promise p and deliver more false alarms.
  const truncation = (1 - chiSquareSurvival(cut, k + 2)) / options.reweightQuantile;
  return { ...fitOf(inliers, 1 / truncation), inliers: inliers.length, consistency };
}

/** How many of the d features take more than one value over the rows. */
function varyingFeatures(rows: readonly ArrayLike<number>[], d: number): number {
  let varying = 0;
  for (let j = 0; j < d; j++) if (rows.some((row) => row[j] !== rows[0]![j])) varying++;
  return varying;
}

/**
 * The robust fit of feature rows as the covariance kinds (robust-t2, pca) make it, with robust-t2's settings
 * (MODEL_DEFAULTS.robustT2): a level floor (ρ·|mean|)² on each feature's variance, and how the features vary
 * together only from at least minJointWindowsPerFeature non-overlapping windows (`independentWindows`) per
 * feature; with fewer, each feature by its own spread (`joint` false: a diagonal covariance, from every window).
 */
export function flooredCovariance(
  rows: readonly ArrayLike<number>[],
  d: number,
  options: { rho: number; keepFraction: number; independentWindows: number },
): RobustCovariance & { joint: boolean } {
  const defaults = MODEL_DEFAULTS.robustT2;
  // The floor is relative to the plain mean level: a robust location would do as well, the mean is simpler.
  const level = meanOf(rows, d);
  const ridge = Array.from(level, (m) => (options.rho * Math.abs(m)) ** 2 + 1e-12);
  // Too few windows to learn how the features vary together: each by its own spread (defaults.ts).
  const joint = options.independentWindows >= defaults.minJointWindowsPerFeature * d;
  const fit = robustCovariance(rows, d, {
    keepFraction: joint ? options.keepFraction : 1,
    cSteps: defaults.cSteps,
    reweightQuantile: defaults.reweightQuantile,
    ridge,
  });
  if (!joint) for (let k = 0; k < d * d; k++) if (k % (d + 1) !== 0) fit.covariance[k] = 0;
  return { ...fit, joint };
}

/**
 * The features at exactly 0 in every row. Such a feature has no level for flooredCovariance's floor to
 * scale with: its variance is the ridge's 1e-12, so any later reading other than 0 scores far above a
 * covariance kind's threshold for as long as it lasts. Kept (a spare channel that starts reading, a fault
 * flag that sets, is news), but said at training, where the user can still train on data in which it varies.
 */
export function featuresZeroThroughout(featureNames: readonly string[], rows: readonly ArrayLike<number>[]): string[] {
  return featureNames.filter((_, j) => rows.every((row) => row[j] === 0));
}
