// Fits a PCA model (model/pca.ts) to the feature rows of normal windows of one machine, the rows robust-t2 fits:
//   1. the same robust location and covariance robust-t2 takes (robust-covariance.ts flooredCovariance: the
//      level floor, the tightest half of the windows, a diagonal from too few windows), so a start-up in the
//      training data does not become a principal direction — but not robust-t2's operating point, its
//      widening of what wandered through a long training, or its per-machine levels: windows of several machines at different levels would make the offsets between
//      them a principal component and hide a fault along it (pooled, a 7.5σ fault was caught in 0.2 % of its
//      windows against 99.2 % for one machine's model), so train.ts refuses them;
//   2. the features standardised by their robust spreads, and the eigendecomposition of their covariance —
//      the correlation matrix: in raw units the sensor with the largest numbers would take the first
//      component whatever it says;
//   3. k components, the fewest whose eigenvalues carry MODEL_DEFAULTS.pca.explainedVariance of the total,
//      at least 1 and at most d − 1, so a residual space is left for Q;
//   4. the limits, each at α = 1 − √(1 − p): T² against Tracy, Young & Mason's limit for a new window scored
//      with the location and covariance estimated from n windows ("Multivariate control charts for
//      individual observations", J. Quality Technology 24(2), 1992), k(n² − 1)/(n(n − k))·F_{k,n−k}(α), n the
//      independent (non-overlapping) windows — χ²_k, the limit for known parameters, is what it tends to as
//      n grows; Q against Jackson–Mudholkar (q-limit.ts) from the estimated eigenvalues, which has no such
//      correction. For Gaussian windows T² and Q live on orthogonal subspaces and are independent, so a
//      normal window exceeds either with probability 1 − (1 − α)² = p: the false-alarm probability
//      robust-t2 promises — from many training windows. Sampled (six features of two loads, p = 10⁻³, ten
//      fits each), the share of fresh windows above either limit from 12, 30, 60, 100, 120 and 300 training
//      windows was 0.31, 0.040, 9.9·10⁻³, 3.4·10⁻³, 2.5·10⁻³, 1.6·10⁻³ with χ²_k and is 0.26, 0.029,
//      5.1·10⁻³, 2.4·10⁻³, 1.8·10⁻³, 1.4·10⁻³ with the F limit; at 12 and 30 windows Q, whose limit takes the
//      estimated eigenvalues for true, exceeds 0.25 and 0.026 by itself. Below MIN_WINDOWS_PER_FEATURE
//      independent windows a feature (within twice p above it) the fit says so (fit.fewWindows), and pdm
//      train prints it.
// No window is held back: both limits are analytic.
import type { PcaFile } from '../model/artifact-schemas.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { pcaModelOf, pcaScore, pcaWorkspace } from '../model/pca.js';
import { chiSquareUpperQuantile } from './chi-square.js';
import { fUpperQuantile } from './f-distribution.js';
import { TrainingDataError } from './derive-contract.js';
import { symmetricEigen } from './linalg.js';
import { qLimit } from './q-limit.js';
import { featuresZeroThroughout, flooredCovariance } from './robust-covariance.js';

export interface PcaOptions {
  /** A normal window's probability of exceeding either limit; default robust-t2's. */
  p?: number;
  /** Share of the standardised variance the kept components carry; default MODEL_DEFAULTS.pca.explainedVariance. */
  explainedVariance?: number;
  /** How many of the rows do not overlap (hopping windows overlap); default: all of them. */
  independentWindows?: number;
}

/**
 * Below this many independent windows a feature normal windows exceed the limits measurably more often than p
 * (the header's sample: 5·p at 10 a feature, 1.8·p at 20); fit.fewWindows says so, and pdm train prints it.
 */
const MIN_WINDOWS_PER_FEATURE = 20;

/**
 * Tracy–Young–Mason's T² limit at α for k components estimated from n independent windows (see the header).
 * It needs n > k, which the joint fit's two windows a feature always leave; with fewer (each feature by its
 * own spread) χ²_k, the limit for many windows, and fit.fewWindows says it is too low.
 */
export function t2LimitOf(alpha: number, k: number, n: number): number {
  if (!(n > k)) return chiSquareUpperQuantile(alpha, k);
  return ((k * (n * n - 1)) / (n * (n - k))) * fUpperQuantile(alpha, k, n - k);
}

/** The fewest leading eigenvalues (largest first) that carry `share` of their sum, kept within [1, d − 1]. */
function componentsFor(eigenvalues: readonly number[], share: number): number {
  const total = eigenvalues.reduce((a, b) => a + b, 0);
  let k = 0;
  for (let carried = 0; k < eigenvalues.length && carried < share * total; k++) carried += eigenvalues[k]!;
  return Math.min(eigenvalues.length - 1, Math.max(1, k));
}

export function fitPca(featureNames: readonly string[], rows: readonly ArrayLike<number>[], options: PcaOptions = {}): PcaFile {
  const d = featureNames.length;
  if (d < 2) throw new TrainingDataError(`a pca model needs at least 2 features to leave a residual, got ${d}`);
  const { rho, keepFraction } = MODEL_DEFAULTS.robustT2;
  const p = options.p ?? MODEL_DEFAULTS.robustT2.p;
  const independent = options.independentWindows ?? rows.length;
  const fit = flooredCovariance(rows, d, { rho, keepFraction, independentWindows: independent });
  const scale = Array.from({ length: d }, (_, j) => Math.sqrt(fit.covariance[j * d + j]!));
  const correlation = fit.covariance.map((c, at) => c / (scale[Math.floor(at / d)]! * scale[at % d]!));
  const eigen = symmetricEigen(correlation, d);
  // Rounding can leave the smallest eigenvalue a hair below 0; the matrix is positive definite (the floor).
  const eigenvalues = Array.from(eigen.values, (l) => Math.max(0, l));
  const share = options.explainedVariance ?? MODEL_DEFAULTS.pca.explainedVariance;
  const k = componentsFor(eigenvalues, share);
  // The eigenvalues sum to d (a correlation matrix): left-out ones of ~nothing are features that are exact
  // linear functions of the kept ones (a channel recorded twice, one computed from others), where Q has no
  // spread to limit: said here, as training data the user can change, not as q-limit.ts's RangeError.
  const residual = eigenvalues.slice(k).reduce((a, b) => a + b, 0);
  if (residual <= 1e-12 * d) {
    throw new TrainingDataError(
      `the features are collinear: ${k} of their ${d} principal components carry all the variance, leaving none for the residual Q (a sensor recorded twice, or one computed from others): leave such columns out, or train robust-t2`,
    );
  }
  const alpha = 1 - Math.sqrt(1 - p);
  const zeroThroughout = featuresZeroThroughout(featureNames, rows);
  const advised = MIN_WINDOWS_PER_FEATURE * d;
  const file: PcaFile = {
    featureNames: [...featureNames],
    location: Array.from(fit.location),
    scale,
    eigenvalues,
    components: Array.from({ length: k }, (_, i) => Array.from(eigen.vectors.subarray(i * d, (i + 1) * d))),
    t2Limit: t2LimitOf(alpha, k, independent),
    qLimit: qLimit(eigenvalues.slice(k), alpha),
    p,
    rho,
    fit: {
      windows: rows.length,
      inliers: fit.inliers,
      consistency: fit.consistency,
      explained: eigenvalues.slice(0, k).reduce((a, b) => a + b, 0) / eigenvalues.reduce((a, b) => a + b, 0),
      trainingAbove: 0,
      ...(independent < advised ? { fewWindows: { independent, advised } } : {}),
      ...(zeroThroughout.length > 0 ? { zeroThroughout } : {}),
      ...(fit.joint ? {} : { featuresAlone: true as const }),
    },
  };
  // Counted with the scorer's own arithmetic, on the model as written.
  const model = pcaModelOf(file);
  const work = pcaWorkspace(model);
  file.fit.trainingAbove = rows.filter((row) => pcaScore(model, row, work).score > 1).length;
  return file;
}
