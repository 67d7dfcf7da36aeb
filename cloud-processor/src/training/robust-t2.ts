// Fits a robust Hotelling T² model (model/robust-t2.ts) to the feature rows of normal windows:
//   1. the operating point: the sensor mean that best explains the other sensors (a speed, a load, a
//      flow) and, per feature, a quadratic in it — so a machine at a set-point between or beyond the
//      ones training saw is compared with what that set-point should look like;
//   2. a robust location and covariance (robust-covariance.ts) of what the operating point leaves, with a
//      level floor on the diagonal;
//   3. the threshold: the analytic χ²_d quantile at p, raised to the training scores' own tail quantile
//      for the target false alerts per machine-day when their tail is heavier than Gaussian
//      (tail-threshold.ts). No held-back windows are needed, so every window trains.
import type { RobustT2File } from '../model/artifact-schemas.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { chiSquareUpperQuantile } from './chi-square.js';
import { invertSpd, mahalanobisSq, meanOf } from './linalg.js';
import { robustCovariance } from './robust-covariance.js';
import { MIN_PEAKS, DEFAULT_LEVEL, perWindowRisk, tailThreshold } from './tail-threshold.js';

export interface RobustT2Options {
  keepFraction?: number;
  rho?: number;
  p?: number;
  /** null: no slow baseline. */
  tauMs?: number | null;
  /** false: a fixed location, whatever the operating point. */
  operatingPoint?: boolean;
  /** The target that may raise the threshold (see the header); with the window length it sets the risk. */
  falseAlertsPerDay?: number;
}

type OperatingPointFile = NonNullable<RobustT2File['operatingPoint']>;

/** An operating point fitted on one feature, and how much of the other sensors' variance it explains. */
interface OperatingFit {
  op: OperatingPointFile;
  /** Σ R² over the features of the other sensors. */
  explained: number;
}

/**
 * Least squares of every feature on [1, u, u²], u the feature `k` standardised; a feature the fit
 * explains less than `minExplained` of (R², see the defaults) keeps a fixed location: slope and curve 0.
 * Undefined when the feature does not vary.
 */
function fitOperatingPoint(featureNames: readonly string[], rows: readonly ArrayLike<number>[], k: number): OperatingFit | undefined {
  const d = featureNames.length;
  const s = rows.map((r) => r[k]!);
  const center = s.reduce((a, b) => a + b, 0) / s.length;
  const scale = Math.sqrt(s.reduce((a, b) => a + (b - center) ** 2, 0) / s.length);
  if (!(scale > 1e-9 * Math.max(1, Math.abs(center)))) return undefined;
  const xtx = new Float64Array(9);
  const xty = Array.from({ length: d }, () => new Float64Array(3));
  rows.forEach((row, i) => {
    const u = (s[i]! - center) / scale;
    const basis = [1, u, u * u];
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) xtx[a * 3 + b]! += basis[a]! * basis[b]!;
      for (let j = 0; j < d; j++) xty[j]![a]! += basis[a]! * row[j]!;
    }
  });
  const inv = invertSpd(xtx, 3);
  const beta = xty.map((t) => [0, 1, 2].map((a) => inv[a * 3]! * t[0]! + inv[a * 3 + 1]! * t[1]! + inv[a * 3 + 2]! * t[2]!));
  const mean = meanOf(rows, d);
  const total = new Float64Array(d);
  const residual = new Float64Array(d);
  rows.forEach((row, i) => {
    const u = (s[i]! - center) / scale;
    for (let j = 0; j < d; j++) {
      total[j]! += (row[j]! - mean[j]!) ** 2;
      residual[j]! += (row[j]! - beta[j]![0]! - beta[j]![1]! * u - beta[j]![2]! * u * u) ** 2;
    }
  });
  const { minExplained } = MODEL_DEFAULTS.robustT2.operatingPoint;
  const sensorOf = (name: string): string => name.slice(0, name.lastIndexOf('.'));
  const r2 = Array.from(total, (t, j) => (t > 0 ? 1 - residual[j]! / t : 0));
  // The operating feature itself is explained exactly (its own least squares gives this up to rounding).
  beta[k] = [center, scale, 0];
  const follows = (j: number): boolean => j === k || r2[j]! >= minExplained;
  const explained = r2.reduce((sum, v, j) => (sensorOf(featureNames[j]!) === sensorOf(featureNames[k]!) ? sum : sum + Math.max(0, v)), 0);
  return {
    op: {
      feature: featureNames[k]!,
      center,
      scale,
      slope: beta.map((b, j) => (follows(j) ? b[1]! : 0)),
      curve: beta.map((b, j) => (follows(j) ? b[2]! : 0)),
    },
    explained,
  };
}

/** The mean feature whose operating point explains the most of the other sensors. */
function bestOperatingPoint(featureNames: readonly string[], rows: readonly ArrayLike<number>[]): OperatingPointFile | undefined {
  let best: OperatingFit | undefined;
  featureNames.forEach((name, k) => {
    if (!name.endsWith('.mean')) return;
    const fit = fitOperatingPoint(featureNames, rows, k);
    if (fit !== undefined && (best === undefined || fit.explained > best.explained)) best = fit;
  });
  return best?.op;
}

/** The rows with the operating point's share taken out (what the robust fit then models). */
function atReferencePoint(rows: readonly ArrayLike<number>[], op: OperatingPointFile, k: number): Float64Array[] {
  return rows.map((row) => {
    const u = (row[k]! - op.center) / op.scale;
    return Float64Array.from(op.slope, (b, j) => row[j]! - b * u - op.curve[j]! * u * u);
  });
}

export function fitRobustT2(featureNames: readonly string[], allRows: readonly ArrayLike<number>[], windowMs: number, options: RobustT2Options = {}): RobustT2File {
  const defaults = MODEL_DEFAULTS.robustT2;
  const d = featureNames.length;
  const operatingPoint = (options.operatingPoint ?? true) ? bestOperatingPoint(featureNames, allRows) : undefined;
  const rows = operatingPoint === undefined ? allRows : atReferencePoint(allRows, operatingPoint, featureNames.indexOf(operatingPoint.feature));
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
  const chiSquare = chiSquareUpperQuantile(p, d);
  const trainingScores = rows.map((r) => mahalanobisSq(precision, r, fit.location, d));
  // Too few windows for a tail (SKAB's 400 s): the χ² quantile alone.
  const tail =
    trainingScores.length * (1 - DEFAULT_LEVEL) >= MIN_PEAKS
      ? tailThreshold(trainingScores, perWindowRisk(options.falseAlertsPerDay ?? defaults.falseAlertsPerDay, windowMs))
      : null;
  const threshold = Math.max(chiSquare, tail ?? 0);
  const trainingAbove = trainingScores.filter((score) => score > threshold).length;
  const rowsOf = (m: Float64Array): number[][] => Array.from({ length: d }, (_, i) => Array.from(m.subarray(i * d, (i + 1) * d)));
  return {
    featureNames: [...featureNames],
    location: Array.from(fit.location),
    precision: rowsOf(precision),
    threshold,
    p,
    rho,
    tauMs: options.tauMs === undefined ? defaults.tauMs : options.tauMs,
    ...(operatingPoint !== undefined ? { operatingPoint } : {}),
    fit: { windows: rows.length, inliers: fit.inliers, consistency: fit.consistency, trainingAbove, chiSquare, trainingTail: tail },
  };
}
