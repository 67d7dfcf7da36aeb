// The PCA model's score, shared by training and scoring. A window's features x (mean and rms of every
// sensor, as robust-t2 reads them) are standardised, z = (x − μ)/scale, and split between the k principal
// directions P (rows, unit vectors) and what they leave:
//   scores t = P z;  Hotelling T² = Σ tᵢ²/λᵢ (the distance within the space normal windows vary in);
//   residual e = z − Pᵀt;  Q = |e|² (the squared prediction error: how far the window left that space).
// A fault that keeps the sensors' usual relations but takes them further than training saw raises T²; one
// that breaks a relation (a sensor no longer following the others) raises Q. The window's score is the
// larger of T²/T²_lim and Q/Q_lim: anomalous above 1, each limit at the same false-alarm probability
// (training/pca.ts), so the score needs no state of its own: each window is scored by itself (a machine's
// online threshold, scoring/machine-thresholds.ts, is all a pca model keeps per machine).
//
// Per-feature terms, each summing to its statistic, the complete decomposition contributions (Alcala &
// Qin, "Analysis and generalization of fault diagnosis methods for process monitoring", J. Process
// Control 21, 2011): for Q the squared residuals eⱼ²; for T² = |Λ^(−½) t|² = |Pᵀ Λ^(−½) t|² (P's rows are
// orthonormal) feature j's (Pᵀ Λ^(−½) t)ⱼ², never negative, where robust-t2's rⱼ·(C⁻¹r)ⱼ can be. A
// window's terms are those of the statistic that decides its score, as a combined model's are its
// deciding member's (model/combined.ts); a sensor's share sums its features' (features.ts sensorShares).
import type { PcaFile } from './artifact-schemas.js';
import type { OnlineThresholdSpec } from './online-threshold.js';

/** A pca.json in memory, in the shapes scoring wants. */
export interface PcaModel {
  d: number;
  /** Principal components kept. */
  k: number;
  location: Float64Array;
  scale: Float64Array;
  /** P, k × d row-major: row i is principal direction i over the standardised features. */
  components: Float64Array;
  /** λ₁…λ_k of the kept components. */
  eigenvalues: Float64Array;
  t2Limit: number;
  qLimit: number;
  /** Set: each machine's threshold follows it online from 1 up (scoring/machine-thresholds.ts); unset: 1 for every window. */
  onlineThreshold?: OnlineThresholdSpec;
}

export function pcaModelOf(file: PcaFile): PcaModel {
  const k = file.components.length;
  return {
    d: file.featureNames.length,
    k,
    location: Float64Array.from(file.location),
    scale: Float64Array.from(file.scale),
    components: Float64Array.from(file.components.flat()),
    eigenvalues: Float64Array.from(file.eigenvalues.slice(0, k)),
    t2Limit: file.t2Limit,
    qLimit: file.qLimit,
    ...(file.onlineThreshold ? { onlineThreshold: file.onlineThreshold } : {}),
  };
}

/** One window's statistics; `terms` (length d) are those of the statistic that decides `score`. */
export interface PcaScore {
  t2: number;
  q: number;
  /** max(T²/T²_lim, Q/Q_lim): 1 is the threshold. */
  score: number;
  terms: Float64Array;
}

/** Space for scoring windows one after another, without allocating per window. */
export interface PcaWorkspace {
  z: Float64Array;
  /** The scores t, and the same divided by √λ (T² is the squared length of the latter). */
  t: Float64Array;
  whitened: Float64Array;
  t2Terms: Float64Array;
  qTerms: Float64Array;
}

export function pcaWorkspace(model: PcaModel): PcaWorkspace {
  const { d, k } = model;
  return { z: new Float64Array(d), t: new Float64Array(k), whitened: new Float64Array(k), t2Terms: new Float64Array(d), qTerms: new Float64Array(d) };
}

/** T², Q and the score of the window `x`; its terms are written into `work` (valid until the next window). */
export function pcaScore(model: PcaModel, x: ArrayLike<number>, work: PcaWorkspace): PcaScore {
  const { d, k, components: p, eigenvalues } = model;
  const { z, t, whitened, t2Terms, qTerms } = work;
  for (let j = 0; j < d; j++) z[j] = (x[j]! - model.location[j]!) / model.scale[j]!;
  let t2 = 0;
  for (let i = 0; i < k; i++) {
    let ti = 0;
    for (let j = 0; j < d; j++) ti += p[i * d + j]! * z[j]!;
    t[i] = ti;
    whitened[i] = ti / Math.sqrt(eigenvalues[i]!);
    t2 += whitened[i]! ** 2;
  }
  let q = 0;
  for (let j = 0; j < d; j++) {
    // (Pᵀt)ⱼ, the window's part in the principal space, and (Pᵀ Λ^(−½) t)ⱼ, whose square is j's T² term.
    let projected = 0;
    let whitenedBack = 0;
    for (let i = 0; i < k; i++) {
      projected += p[i * d + j]! * t[i]!;
      whitenedBack += p[i * d + j]! * whitened[i]!;
    }
    t2Terms[j] = whitenedBack * whitenedBack;
    qTerms[j] = (z[j]! - projected) ** 2;
    q += qTerms[j]!;
  }
  const t2Ratio = t2 / model.t2Limit;
  const qRatio = q / model.qLimit;
  return t2Ratio >= qRatio ? { t2, q, score: t2Ratio, terms: t2Terms } : { t2, q, score: qRatio, terms: qTerms };
}
