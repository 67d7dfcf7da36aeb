// Fits a robust Hotelling T² model (model/robust-t2.ts) to the feature rows of normal windows:
//   1. the operating point: the sensor mean that best explains the other sensors (a speed, a load, a
//      flow) and, per feature, a quadratic in it — so a machine at a set-point between or beyond the
//      ones training saw is compared with what that set-point should look like;
//   2. a robust location and covariance (robust-covariance.ts) of what the operating point leaves, with a
//      level floor on the diagonal; where training is long enough for a tail (3) and that tail is heavier
//      than the fit's χ² says, each feature's variance at least its spread over all of training (a slow
//      wander is not an outlier: widenToTrainingSpread), the features widened written to fit.widened;
//   2a. with windows of several machines, each machine's own level: a model serving a class of machines
//      compares each with its own normal (its offset from the class), and the covariance describes how
//      a machine varies, not how machines differ from one another;
//   3. the threshold: the analytic χ²_d quantile at p, or the training scores' own tail quantile for
//      the target false exceedances per machine-day (tail-threshold.ts) when that is higher and enough
//      independent windows give a tail. No held-back windows are needed, so every window trains;
//   4. where those windows are too few for a tail, a slow baseline (τ: two training spans) that
//      follows the machine through its normal windows: a short training cannot describe hours.
import type { RobustT2File } from '../model/artifact-schemas.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { onlineThresholdSpec } from '../model/online-threshold.js';
import { quantile } from '../model/robust-stats.js';
import { chiSquareUpperQuantile } from './chi-square.js';
import { invertSpd, mahalanobisSq, meanOf } from './linalg.js';
import { featuresZeroThroughout, flooredCovariance } from './robust-covariance.js';
import { perWindowRisk, tailThreshold } from './tail-threshold.js';

export interface RobustT2Options {
  keepFraction?: number;
  rho?: number;
  p?: number;
  /** null: no slow baseline; default: one only where training was short (see the defaults). */
  tauMs?: number | null;
  /** false: a fixed location, whatever the operating point. */
  operatingPoint?: boolean;
  /** The target that may raise the threshold (see the header); with the window length it sets the risk. */
  falseAlertsPerDay?: number;
  /** How many of the rows do not overlap (hopping windows overlap); default: all of them. */
  independentWindows?: number;
  /** The machine id of each row: with two machines or more, each gets its own offset (see the header). */
  machineOf?: readonly string[];
  /**
   * false: every machine is judged by `threshold`. Default: each machine's own online threshold
   * (model/online-threshold.ts) at falseAlertsPerDay, floored at `threshold`: it rises for a machine whose
   * healthy tail is heavier than training saw and never falls below what training set (calibrated on a
   * machine's first 5½ h it fell below the simulated pump's trained tail and marked its afternoons).
   */
  onlineThreshold?: boolean;
}

type OperatingPointFile = NonNullable<RobustT2File['operatingPoint']>;

/** An operating point fitted on one feature, and how much of the other sensors' variance it explains. */
interface OperatingFit {
  op: OperatingPointFile;
  /** Σ R² over the features of the other sensors. */
  explained: number;
}

/**
 * Least squares of every feature on [1, u, u²], u the feature `k` standardised — on [1, u] alone when
 * u² is (nearly) a linear function of u, as it is for a machine run at two set-points, whose curve the
 * data cannot tell. A feature the fit explains less than `minExplained` of (R², see the defaults) keeps
 * a fixed location: slope and curve 0. Undefined when the feature does not vary or explains no other
 * sensor's feature that well (an operating point that explains nothing would only hide its own sensor).
 */
function fitOperatingPoint(featureNames: readonly string[], rows: readonly ArrayLike<number>[], k: number): OperatingFit | undefined {
  const d = featureNames.length;
  const s = rows.map((r) => r[k]!);
  const center = s.reduce((a, b) => a + b, 0) / s.length;
  const scale = Math.sqrt(s.reduce((a, b) => a + (b - center) ** 2, 0) / s.length);
  if (!(scale > 1e-9 * Math.max(1, Math.abs(center)))) return undefined;
  const u = s.map((v) => (v - center) / scale);
  const curved = !nearlyLinear(u);
  const terms = curved ? 3 : 2;
  const xtx = new Float64Array(terms * terms);
  const xty = Array.from({ length: d }, () => new Float64Array(terms));
  rows.forEach((row, i) => {
    const basis = [1, u[i]!, u[i]! * u[i]!];
    for (let a = 0; a < terms; a++) {
      for (let b = 0; b < terms; b++) xtx[a * terms + b]! += basis[a]! * basis[b]!;
      for (let j = 0; j < d; j++) xty[j]![a]! += basis[a]! * row[j]!;
    }
  });
  const inv = invertSpd(xtx, terms);
  const beta = xty.map((t) => [0, 1, 2].map((a) => (a < terms ? t.reduce((sum, v, b) => sum + inv[a * terms + b]! * v, 0) : 0)));
  const mean = meanOf(rows, d);
  const total = new Float64Array(d);
  const residual = new Float64Array(d);
  rows.forEach((row, i) => {
    const ui = u[i]!;
    for (let j = 0; j < d; j++) {
      total[j]! += (row[j]! - mean[j]!) ** 2;
      residual[j]! += (row[j]! - beta[j]![0]! - beta[j]![1]! * ui - beta[j]![2]! * ui * ui) ** 2;
    }
  });
  const { minExplained } = MODEL_DEFAULTS.robustT2.operatingPoint;
  const sensorOf = (name: string): string => name.slice(0, name.lastIndexOf('.'));
  const own = (j: number): boolean => sensorOf(featureNames[j]!) === sensorOf(featureNames[k]!);
  const r2 = Array.from(total, (t, j) => (t > 0 ? 1 - residual[j]! / t : 0));
  if (!r2.some((v, j) => !own(j) && v >= minExplained)) return undefined;
  // The operating feature itself is explained exactly (its own least squares gives this up to rounding).
  beta[k] = [center, scale, 0];
  const follows = (j: number): boolean => j === k || r2[j]! >= minExplained;
  const explained = r2.reduce((sum, v, j) => (own(j) ? sum : sum + Math.max(0, v)), 0);
  return {
    op: {
      feature: featureNames[k]!,
      center,
      scale,
      // Not Math.min(...u): a month of windows is more arguments than a call's stack holds.
      min: u.reduce((a, b) => Math.min(a, b), Infinity),
      max: u.reduce((a, b) => Math.max(a, b), -Infinity),
      slope: beta.map((b, j) => (follows(j) ? b[1]! : 0)),
      curve: beta.map((b, j) => (follows(j) ? b[2]! : 0)),
    },
    explained,
  };
}

/**
 * Whether u² is, to within 1 % of u's variance, a linear function of u: two set-points, each spread by
 * up to ~5 % of their distance (what is left is then ~4 × the spread² in u), where a fitted curve is
 * noise that bends anywhere in between. Three set-points leave 50 %, set-points spread evenly 80 %.
 * (At 5 % one SKAB recording's bimodal operating feature lost its curve: FAR 12.6 → 14.3 %.)
 */
function nearlyLinear(u: readonly number[]): boolean {
  // u is standardised (mean 0, variance 1): the least-squares line of u² on u has slope E[u³] and
  // intercept 1; what it leaves is Var(u²) − E[u³]² = E[u⁴] − 1 − E[u³]².
  const n = u.length;
  let m3 = 0;
  let m4 = 0;
  for (const v of u) {
    m3 += v ** 3 / n;
    m4 += v ** 4 / n;
  }
  return m4 - 1 - m3 * m3 < 0.01;
}

/** The mean feature whose operating point explains the most of the other sensors; undefined: none does. */
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

/** The coordinate-wise median of `rows` (each of length d). */
function medianOf(rows: readonly ArrayLike<number>[], d: number): Float64Array {
  const out = new Float64Array(d);
  const column = new Float64Array(rows.length);
  for (let j = 0; j < d; j++) {
    rows.forEach((row, i) => (column[i] = row[j]!));
    column.sort();
    const mid = column.length >> 1;
    out[j] = column.length % 2 === 1 ? column[mid]! : (column[mid - 1]! + column[mid]!) / 2;
  }
  return out;
}

/** The rows of each machine, in order; all under one key without `machineOf`. */
function rowsByMachine(rows: readonly ArrayLike<number>[], machineOf: readonly string[] | undefined): Map<string, ArrayLike<number>[]> {
  const byMachine = new Map<string, ArrayLike<number>[]>();
  rows.forEach((row, i) => {
    const machine = machineOf?.[i] ?? '';
    const list = byMachine.get(machine);
    if (list === undefined) byMachine.set(machine, [row]);
    else list.push(row);
  });
  return byMachine;
}

/**
 * Each machine's offset from the class: the median of its rows minus the median of every row (medians,
 * so a start-up or a fault inside one machine's training does not move its level). Machines with fewer
 * than `minMachineWindows` independent rows (`independence`: the share of rows that do not overlap) get
 * none — an hour's level is that hour's regime — and are compared with the class location, as a
 * machine training never saw. Undefined with fewer than two machines.
 */
function machineOffsets(rows: readonly ArrayLike<number>[], machineOf: readonly string[] | undefined, independence: number, d: number): Map<string, Float64Array> | undefined {
  if (machineOf === undefined) return undefined;
  if (machineOf.length !== rows.length) throw new RangeError(`machineOf names ${machineOf.length} machines for ${rows.length} rows`);
  const byMachine = rowsByMachine(rows, machineOf);
  if (byMachine.size < 2) return undefined;
  const center = medianOf(rows, d);
  const offsets = new Map<string, Float64Array>();
  for (const [machine, own] of byMachine) {
    if (own.length * independence < MODEL_DEFAULTS.robustT2.minMachineWindows) continue;
    offsets.set(machine, medianOf(own, d).map((m, j) => m - center[j]!));
  }
  return offsets;
}

/**
 * The slow baseline's τ for a training of `independent` non-overlapping windows of `machines` machines;
 * null (none) for a long one. The training span is a machine's: four pumps of an hour are an hour of
 * operation, not four (τ was 7.8 h for the old one-hour demo model instead of 2).
 */
function baselineTauMs(independent: number, machines: number, windowMs: number): number | null {
  const { minTailWindows, baselineTrainingSpans } = MODEL_DEFAULTS.robustT2;
  return independent < minTailWindows ? baselineTrainingSpans * (independent / machines) * windowMs : null;
}

/** A Gaussian's 99th percentile of |x − μ|, in σ: the spread below reads σ off it, blind to the most extreme 1 % of windows. */
const Q99_IN_SIGMAS = 2.5758293035489;

/**
 * Where training is long enough to be taken as normal throughout (the tail threshold takes every
 * training window as normal too) and its scores' tail is heavier than the fit's χ²_d says (fitRobustT2),
 * each feature's variance is raised to its spread over all of training where that is larger — its row
 * and column of the covariance scaled by the same factor, so the correlations stay. The robust fit
 * describes the tightest half of the windows: a feature that wanders slowly through training (a bearing
 * temperature following the ambient's daily swing and the load with a lag, which the operating point
 * does not carry) is not an outlier in its other half, and without this its wander, judged against the
 * tight half, made the training scores' tail — and so the threshold of every feature — several times
 * the χ² quantile (the simulated pump: 39 → 198, its afternoon heat still beyond it, an alert it opened
 * hiding a misalignment that began under it). The spread is each machine's windows about that machine's
 * own median (a class model: how a machine varies, not how the machines differ), read as the σ whose
 * Gaussian has that 99th percentile of |x − median|: a glitch or a start-up in fewer than 1 % of the
 * windows does not widen anything. A feature that varies as the fit says keeps its variance (within
 * sampling error). `covariance` (d × d) is changed in place; returns the widened features' factors on
 * their variance (empty: none widened).
 */
function widenToTrainingSpread(featureNames: readonly string[], rows: readonly ArrayLike<number>[], machineOf: readonly string[] | undefined, covariance: Float64Array): Record<string, number> {
  const d = featureNames.length;
  // |x − its machine's median|, feature by feature.
  const deviations = Array.from({ length: d }, () => new Array<number>());
  for (const own of rowsByMachine(rows, machineOf).values()) {
    const center = medianOf(own, d);
    for (const row of own) for (let j = 0; j < d; j++) deviations[j]!.push(Math.abs(row[j]! - center[j]!));
  }
  const widened: Record<string, number> = {};
  const factors = new Float64Array(d).fill(1);
  for (let j = 0; j < d; j++) {
    const spread = (quantile(deviations[j]!, 0.99) / Q99_IN_SIGMAS) ** 2;
    const variance = covariance[j * d + j]!;
    if (spread > variance) {
      factors[j] = spread / variance;
      widened[featureNames[j]!] = factors[j]!;
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) covariance[i * d + j]! *= Math.sqrt(factors[i]! * factors[j]!);
  return widened;
}

export function fitRobustT2(featureNames: readonly string[], allRows: readonly ArrayLike<number>[], windowMs: number, options: RobustT2Options = {}): RobustT2File {
  const defaults = MODEL_DEFAULTS.robustT2;
  const d = featureNames.length;
  const operatingPoint = (options.operatingPoint ?? true) ? bestOperatingPoint(featureNames, allRows) : undefined;
  const atPoint = operatingPoint === undefined ? allRows : atReferencePoint(allRows, operatingPoint, featureNames.indexOf(operatingPoint.feature));
  const independent = options.independentWindows ?? allRows.length;
  const offsets = machineOffsets(atPoint, options.machineOf, Math.min(1, independent / allRows.length), d);
  // Each machine's rows moved to the class level: what is left is how a machine varies around its own.
  const rows = offsets === undefined ? atPoint : atPoint.map((row, i) => {
    const offset = offsets.get(options.machineOf![i]!);
    return offset === undefined ? row : Float64Array.from(offset, (o, j) => row[j]! - o);
  });
  const rho = options.rho ?? defaults.rho;
  const p = options.p ?? defaults.p;
  const { joint, ...fit } = flooredCovariance(rows, d, { rho, keepFraction: options.keepFraction ?? defaults.keepFraction, independentWindows: independent });
  const chiSquare = chiSquareUpperQuantile(p, d);
  const risk = perWindowRisk(options.falseAlertsPerDay ?? MODEL_DEFAULTS.falseAlertsPerDay, windowMs);
  const scoresOf = (precision: Float64Array): number[] => rows.map((r) => mahalanobisSq(precision, r, fit.location, d));
  let precision = invertSpd(fit.covariance, d);
  let trainingScores = scoresOf(precision);
  // A tail read from few independent windows extrapolates wildly (from 10 peaks to a risk of 1/8640:
  // anywhere from 20 to 160 on χ²-like scores); with fewer, or none that fit, the χ² quantile alone.
  const longTraining = independent >= defaults.minTailWindows;
  let tail = longTraining ? tailThreshold(trainingScores, risk) : null;
  // A tail above the χ²_d quantile at the same risk says the robust spread is too tight for what training
  // (taken as normal throughout, as the tail is) held: the features that wandered beyond it take their
  // training spread (widenToTrainingSpread), rather than the threshold of every feature rising for them.
  const widened = tail !== null && tail > chiSquareUpperQuantile(risk, d) ? widenToTrainingSpread(featureNames, rows, options.machineOf, fit.covariance) : {};
  if (Object.keys(widened).length > 0) {
    precision = invertSpd(fit.covariance, d);
    trainingScores = scoresOf(precision);
    tail = tailThreshold(trainingScores, risk);
  }
  const threshold = Math.max(chiSquare, tail ?? 0);
  const trainingAbove = trainingScores.filter((score) => score > threshold).length;
  const zeroThroughout = featuresZeroThroughout(featureNames, allRows);
  const rowsOf = (m: Float64Array): number[][] => Array.from({ length: d }, (_, i) => Array.from(m.subarray(i * d, (i + 1) * d)));
  return {
    featureNames: [...featureNames],
    location: Array.from(fit.location),
    precision: rowsOf(precision),
    threshold,
    p,
    rho,
    tauMs: options.tauMs === undefined ? baselineTauMs(independent, options.machineOf === undefined ? 1 : new Set(options.machineOf).size, windowMs) : options.tauMs,
    ...(operatingPoint !== undefined ? { operatingPoint } : {}),
    ...(offsets !== undefined && offsets.size > 0 ? { machineOffsets: Object.fromEntries([...offsets].map(([m, o]) => [m, Array.from(o)])) } : {}),
    ...(options.onlineThreshold === false ? {} : { onlineThreshold: onlineThresholdSpec(threshold, options.falseAlertsPerDay) }),
    fit: {
      windows: rows.length,
      inliers: fit.inliers,
      consistency: fit.consistency,
      trainingAbove,
      chiSquare,
      trainingTail: tail,
      ...(zeroThroughout.length > 0 ? { zeroThroughout } : {}),
      ...(joint ? {} : { featuresAlone: true }),
      ...(Object.keys(widened).length > 0 ? { widened } : {}),
    },
  };
}
