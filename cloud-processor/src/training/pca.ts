// Fits a PCA model (model/pca.ts) to the feature rows of normal windows, the rows robust-t2 fits:
//   1. robust-t2's robust location and covariance (robust-covariance.ts flooredCovariance: the level floor,
//      the tightest half of the windows, a diagonal from too few windows), so a start-up in the training
//      data does not become a principal direction;
//   2. the features standardised by their robust spreads, and the eigendecomposition of their covariance —
//      the correlation matrix: in raw units the sensor with the largest numbers would take the first
//      component whatever it says;
//   3. k components, the fewest whose eigenvalues carry MODEL_DEFAULTS.pca.explainedVariance of the total,
//      at least 1 and at most d − 1, so a residual space is left for Q;
//   4. the limits: T² against χ²_k, Q against Jackson–Mudholkar (q-limit.ts), each at α = 1 − √(1 − p).
//      For Gaussian windows T² and Q live on orthogonal subspaces and are independent, so a normal window
//      exceeds either with probability 1 − (1 − α)² = p: the false-alarm probability robust-t2 promises.
// No window is held back: both limits are analytic.
import type { PcaFile } from '../model/artifact-schemas.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { pcaModelOf, pcaScore, pcaWorkspace } from '../model/pca.js';
import { chiSquareUpperQuantile } from './chi-square.js';
import { TrainingDataError } from './derive-contract.js';
import { symmetricEigen } from './linalg.js';
import { qLimit } from './q-limit.js';
import { flooredCovariance } from './robust-covariance.js';

export interface PcaOptions {
  /** A normal window's probability of exceeding either limit; default robust-t2's. */
  p?: number;
  /** Share of the standardised variance the kept components carry; default MODEL_DEFAULTS.pca.explainedVariance. */
  explainedVariance?: number;
  /** How many of the rows do not overlap (hopping windows overlap); default: all of them. */
  independentWindows?: number;
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
  const fit = flooredCovariance(rows, d, { rho, keepFraction, independentWindows: options.independentWindows ?? rows.length });
  const scale = Array.from({ length: d }, (_, j) => Math.sqrt(fit.covariance[j * d + j]!));
  const correlation = fit.covariance.map((c, at) => c / (scale[Math.floor(at / d)]! * scale[at % d]!));
  const eigen = symmetricEigen(correlation, d);
  // Rounding can leave the smallest eigenvalue a hair below 0; the matrix is positive definite (the floor).
  const eigenvalues = Array.from(eigen.values, (l) => Math.max(0, l));
  const share = options.explainedVariance ?? MODEL_DEFAULTS.pca.explainedVariance;
  const k = componentsFor(eigenvalues, share);
  const alpha = 1 - Math.sqrt(1 - p);
  const file: PcaFile = {
    featureNames: [...featureNames],
    location: Array.from(fit.location),
    scale,
    eigenvalues,
    components: Array.from({ length: k }, (_, i) => Array.from(eigen.vectors.subarray(i * d, (i + 1) * d))),
    t2Limit: chiSquareUpperQuantile(alpha, k),
    qLimit: qLimit(eigenvalues.slice(k), alpha),
    p,
    rho,
    fit: {
      windows: rows.length,
      inliers: fit.inliers,
      consistency: fit.consistency,
      explained: eigenvalues.slice(0, k).reduce((a, b) => a + b, 0) / eigenvalues.reduce((a, b) => a + b, 0),
      trainingAbove: 0,
      ...(fit.joint ? {} : { featuresAlone: true as const }),
    },
  };
  // Counted with the scorer's own arithmetic, on the model as written.
  const model = pcaModelOf(file);
  const work = pcaWorkspace(model);
  file.fit.trainingAbove = rows.filter((row) => pcaScore(model, row, work).score > 1).length;
  return file;
}
