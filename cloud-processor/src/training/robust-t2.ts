// Fits a robust Hotelling T² model (model/robust-t2.ts) to the feature rows of normal windows: a
// robust location and covariance (robust-covariance.ts) with a level floor on the diagonal, and the
// analytic χ²_d threshold — no held-back windows are needed, so every window trains.
import type { RobustT2File } from '../model/artifact-schemas.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { chiSquareUpperQuantile } from './chi-square.js';
import { invertSpd, mahalanobisSq, meanOf } from './linalg.js';
import { robustCovariance } from './robust-covariance.js';

export interface RobustT2Options {
  keepFraction?: number;
  rho?: number;
  p?: number;
  /** null: no slow baseline. */
  tauMs?: number | null;
}

export function fitRobustT2(featureNames: readonly string[], rows: readonly ArrayLike<number>[], options: RobustT2Options = {}): RobustT2File {
  const defaults = MODEL_DEFAULTS.robustT2;
  const d = featureNames.length;
  const rho = options.rho ?? defaults.rho;
  const p = options.p ?? defaults.p;
  // The floor is relative to the plain mean level: a robust location would do as well, the mean is simpler.
  const level = meanOf(rows, d);
  const ridge = Array.from(level, (m) => (rho * Math.abs(m)) ** 2 + 1e-12);
  const fit = robustCovariance(rows, d, {
    keepFraction: options.keepFraction ?? defaults.keepFraction,
    cSteps: defaults.cSteps,
    reweightQuantile: defaults.reweightQuantile,
    ridge,
  });
  const precision = invertSpd(fit.covariance, d);
  const threshold = chiSquareUpperQuantile(p, d);
  const trainingAbove = rows.filter((r) => mahalanobisSq(precision, r, fit.location, d) > threshold).length;
  const rowsOf = (m: Float64Array): number[][] => Array.from({ length: d }, (_, i) => Array.from(m.subarray(i * d, (i + 1) * d)));
  return {
    featureNames: [...featureNames],
    location: Array.from(fit.location),
    precision: rowsOf(precision),
    threshold,
    p,
    rho,
    tauMs: options.tauMs === undefined ? defaults.tauMs : options.tauMs,
    fit: { windows: rows.length, inliers: fit.inliers, consistency: fit.consistency, trainingAbove },
  };
}
