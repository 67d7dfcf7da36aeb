// The JSON files of a model folder, validated on load: a hand-edited or truncated file is refused with
// the file and field named, never half-loaded.
import { z } from 'zod';

/**
 * The detector families a model folder can hold. Every kind has the same contract.json and registry
 * layout; its own artifacts sit next to it (MODEL_FILES). 'autoencoder' folders written before kinds
 * existed say 'autoencoder+robust-z' or nothing at all, and still load.
 */
export const MODEL_KINDS = ['autoencoder', 'robust-t2', 'adaptive-z', 'pca'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];
const LEGACY_AUTOENCODER_KIND = 'autoencoder+robust-z';

/**
 * What contract.json's `kind` may say: one detector family, or 'combined' — several families trained on
 * the same windows, their artifacts side by side in one folder, each window scored by all of them and
 * decided on their calibrated scores (model/combined.ts). Its `members` say which, in order (the first
 * is the primary: its alert rule and running-state gate are the model's).
 */
export const CONTRACT_KINDS = [...MODEL_KINDS, 'combined'] as const;
export type ContractKind = (typeof CONTRACT_KINDS)[number];

/** How a combined model joins its members' calibrated scores (model/combined.ts). */
export const COMBINE_RULES = ['max', 'mean'] as const;
export type CombineRule = (typeof COMBINE_RULES)[number];

const finite = z.number().refine(Number.isFinite, 'must be finite');
const positive = finite.refine((v) => v > 0, 'must be > 0');

/**
 * A model's `onlineThreshold` (robust-t2, pca, autoencoder): present, each machine's threshold follows it
 * online (SPOT on its own normal windows, model/online-threshold.ts) at this many false exceedances per
 * machine-day, never below `floor` (pdm train: the trained threshold; absent with pdm train
 * --fixed-threshold); absent, the trained threshold judges every machine.
 */
const onlineThresholdSchema = z.object({ falseAlertsPerDay: positive, floor: positive }).strict().optional();

export const contractFileSchema = z.object({
  featureNames: z.array(z.string().min(1)).min(1),
  windowMs: z.number().int().positive(),
  featureVersion: z.number().int().nonnegative(),
  kind: z.preprocess((k) => (k === undefined || k === LEGACY_AUTOENCODER_KIND ? 'autoencoder' : k), z.enum(CONTRACT_KINDS)),
  name: z.string().min(1),
  version: z.string().min(1),
  trainingWindows: z.number().int().positive(),
  /** Windows kept out of training to calibrate the threshold (0 for kinds whose threshold is analytic). */
  heldBackWindows: z.number().int().nonnegative(),
  seed: z.number().int(),
  createdAt: z.string(),
  /** When this model's windows open and resolve an alert, if the model has its own rule (else the processor's). */
  alertRule: z
    .object({ openAfter: z.number().int().positive(), within: z.number().int().positive(), resolveAfter: z.number().int().positive() })
    .refine((r) => r.within >= r.openAfter, 'within must be >= openAfter')
    .optional(),
  /**
   * The machines this model serves: exact machine ids or patterns where `*` stands for any run of
   * characters (`pump-*`). Absent: any machine whose windows carry its sensors (see scoring/select-model.ts).
   */
  machines: z.array(z.string().min(1)).min(1).optional(),
  /** The running-state gate (model/regime.ts): windows of a stopped or changing machine are held, not scored. */
  regime: z
    .object({
      /** maxStep absent: the sensor's steps are not judged (a gate with a quorum). */
      sensors: z.array(z.object({ sensor: z.string().min(1), runningAbove: finite, maxStep: finite.refine((v) => v >= 0, 'must be >= 0').optional() })).min(1),
      settleWindows: z.number().int().nonnegative(),
      /** How many sensors must be below their running level at once for a stop; absent: one. */
      quorum: z.number().int().positive().optional(),
    })
    .refine((r) => (r.quorum ?? 1) <= r.sensors.length, { message: 'quorum must not exceed the number of sensors', path: ['quorum'] })
    .optional(),
  /**
   * kind 'combined' only: its members, each a detector family (at most one of each) with the features it
   * reads (all of them among featureNames), and the rule joining their calibrated scores.
   */
  members: z
    .array(z.object({ kind: z.enum(MODEL_KINDS), featureNames: z.array(z.string().min(1)).min(1) }).strict())
    .min(2)
    .refine((m) => new Set(m.map((x) => x.kind)).size === m.length, 'each kind at most once')
    .optional(),
  combine: z.enum(COMBINE_RULES).optional(),
}).refine((c) => (c.kind === 'combined') === (c.members !== undefined && c.combine !== undefined), {
  message: "must be given, with combine, exactly when kind is 'combined'",
  path: ['members'],
});
export type ContractFile = z.infer<typeof contractFileSchema>;

export const normalizationFileSchema = z.object({
  featureNames: z.array(z.string().min(1)).min(1),
  logShift: z.array(positive.nullable()).optional(),
  center: z.array(finite),
  scale: z.array(positive),
  zClip: positive,
});

export const thresholdFileSchema = z.object({
  threshold: positive,
  scale: z.object({ aeReference: positive, zReference: positive, zTermWeight: finite.refine((w) => w >= 0 && w <= 1, 'must be in [0, 1]') }),
  onlineThreshold: onlineThresholdSchema,
  // How the threshold was derived: a record for people, not read by the scorer.
  calibration: z.union([
    z.object({
      heldBackWindows: z.number().int().positive(),
      heldBackMax: finite,
      heldBackAbove: z.number().int().nonnegative(),
      logCenter: finite,
      logSpread: finite,
      tailSigmas: finite,
      maxFloor: z.boolean(),
    }),
    // Models calibrated before the robust fit (mean and σ of the log-scores, floor at the maximum).
    z.object({ heldBackWindows: z.number().int().positive(), heldBackMax: finite, logMean: finite, logStd: finite, tailSigmas: finite }),
  ]),
});
export type ThresholdFile = z.infer<typeof thresholdFileSchema>;

export const modelJsonSchema = z.object({
  format: z.literal('layers-model'),
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z
    .array(z.object({ paths: z.array(z.string()), weights: z.array(z.object({ name: z.string(), shape: z.array(z.number()), dtype: z.string() }).loose()) }))
    .length(1),
});

/** robust-t2.json: everything a robust Hotelling T² model scores with (see robust-t2.ts). */
export const robustT2FileSchema = z.object({
  featureNames: z.array(z.string().min(1)).min(1),
  /** Robust location μ of the training features. */
  location: z.array(finite),
  /** C⁻¹, the inverse of the robust covariance with the level floor on its diagonal (row-major rows). */
  precision: z.array(z.array(finite)),
  /** D² above which a window is anomalous: the χ²_d upper quantile at p, or the training scores' tail (fit). */
  threshold: positive,
  p: positive.refine((p) => p < 1, 'must be < 1'),
  /** Level floor ρ: (ρ·|mean|)² was added to each feature's variance. */
  rho: finite.refine((r) => r >= 0, 'must be >= 0'),
  /** Time constant of the slow per-machine baseline, ms (null = no baseline: scores against μ). */
  tauMs: positive.nullable(),
  /**
   * The operating point's share of the location: every feature's expected value moves with the
   * operating feature's window mean s as slope·u + curve·u², u = (s − center)/scale held to the trained
   * range [min, max] (absent: a fixed location).
   */
  operatingPoint: z
    .object({ feature: z.string().min(1), center: finite, scale: positive, min: finite, max: finite, slope: z.array(finite), curve: z.array(finite) })
    .refine((op) => op.min <= op.max, 'min must be <= max')
    .optional(),
  /**
   * Per machine id (trained on several machines): its normal level's offset from the location, added to
   * the location when that machine is scored (absent, or a machine not listed: the location itself).
   */
  machineOffsets: z.record(z.string().min(1), z.array(finite)).optional(),
  onlineThreshold: onlineThresholdSchema,
  // How the fit went: a record for people, not read by the scorer.
  // chiSquare: the χ²_d quantile at p; trainingTail: the training scores' tail quantile (null: too few windows);
  // zeroThroughout: the features that read exactly 0 in every training window; featuresAlone: too few windows
  // for a joint covariance, each feature judged by its own spread; widened: the features whose variance was
  // raised to their spread over a long training, and by what factor (see fitRobustT2).
  fit: z.object({
    windows: z.number().int().positive(),
    inliers: z.number().int().positive(),
    consistency: finite,
    trainingAbove: z.number().int().nonnegative(),
    chiSquare: positive.optional(),
    trainingTail: finite.nullable().optional(),
    zeroThroughout: z.array(z.string().min(1)).optional(),
    featuresAlone: z.literal(true).optional(),
    widened: z.record(z.string().min(1), positive).optional(),
  }),
});
export type RobustT2File = z.infer<typeof robustT2FileSchema>;

/** adaptive-z.json: the univariate adaptive baseline (see adaptive-z.ts). */
export const adaptiveZFileSchema = z.object({
  featureNames: z.array(z.string().min(1)).min(1),
  /** Per feature: the dominant period of its training series in windows (0: none) and the series itself, one value per window slot (null: no window). */
  features: z.array(z.object({ period: z.number().int().nonnegative(), history: z.array(finite.nullable()).min(1) })).min(1),
  shortWindows: z.number().int().positive(),
  historyWindows: z.number().int().positive(),
  /** A window whose largest z exceeds this is anomalous. */
  threshold: positive,
  /** windowEnd (epoch ms) of the series' last slot, so a machine's first window knows how many slots lie between (absent in older models). */
  historyEnd: finite.optional(),
});
export type AdaptiveZFile = z.infer<typeof adaptiveZFileSchema>;

/** pca.json: a PCA model, Hotelling T² on its principal components and the residual Q (see pca.ts). */
export const pcaFileSchema = z
  .object({
    featureNames: z.array(z.string().min(1)).min(1),
    /** Robust location μ of one machine's training features (robust-t2's robust covariance, without its operating point or per-machine levels). */
    location: z.array(finite),
    /** Each feature's robust spread, with robust-t2's level floor: windows are standardised to (x − μ)/scale. */
    scale: z.array(positive),
    /** Every eigenvalue of the standardised features' covariance (their correlation matrix), largest first. */
    eigenvalues: z.array(finite.refine((v) => v >= 0, 'must be >= 0')),
    /** The k principal directions kept, unit vectors over the standardised features (rows); the rest is the residual. */
    components: z.array(z.array(finite)).min(1),
    /**
     * T² = Σ tᵢ²/λᵢ over the k components above which a window is anomalous, at α = 1 − √(1 − p): Tracy–Young–Mason's
     * k(n² − 1)/(n(n − k))·F_{k,n−k}(α) for n independent training windows (χ²_k with fewer windows than components: training/pca.ts).
     */
    t2Limit: positive,
    /** Q, the squared residual, above which a window is anomalous: Jackson–Mudholkar's limit at the same α (training/q-limit.ts). */
    qLimit: positive,
    /** A normal window's probability of exceeding either limit (T² and Q are independent for Gaussian windows). */
    p: positive.refine((p) => p < 1, 'must be < 1'),
    /** Level floor ρ: (ρ·|mean|)² was added to each feature's variance. */
    rho: finite.refine((r) => r >= 0, 'must be >= 0'),
    /** The score's threshold is 1; the floor of an online one is 1 too. */
    onlineThreshold: onlineThresholdSchema,
    // How the fit went: a record for people, not read by the scorer. explained: the share of the standardised
    // variance the k components carry; fewWindows: fewer independent windows than advised (the limits then
    // understate the false alarms, see fitPca); zeroThroughout: the features that read exactly 0 in every training
    // window; featuresAlone: too few windows for a joint covariance (see fitPca).
    fit: z.object({
      windows: z.number().int().positive(),
      inliers: z.number().int().positive(),
      consistency: finite,
      explained: finite,
      trainingAbove: z.number().int().nonnegative(),
      fewWindows: z.object({ independent: positive, advised: positive }).strict().optional(),
      zeroThroughout: z.array(z.string().min(1)).optional(),
      featuresAlone: z.literal(true).optional(),
    }),
  })
  .refine((f) => f.components.length < f.eigenvalues.length && f.eigenvalues.slice(0, f.components.length).every((l) => l > 0), {
    message: 'must be fewer than the eigenvalues (a residual is left), each kept one > 0',
    path: ['components'],
  });
export type PcaFile = z.infer<typeof pcaFileSchema>;

/** The files of a model folder; contract.json is written last and marks the folder complete. */
export const MODEL_FILES = {
  contract: 'contract.json',
  // autoencoder
  model: 'model.json',
  weights: 'weights.bin',
  normalization: 'normalization.json',
  threshold: 'threshold.json',
  // robust-t2
  robustT2: 'robust-t2.json',
  // adaptive-z
  adaptiveZ: 'adaptive-z.json',
  // pca
  pca: 'pca.json',
  // every kind (optional: models trained before it load without; see feature-profile.ts)
  featureProfile: 'feature-profile.json',
} as const;

/** The artifacts each kind writes next to contract.json (a combined model: those of each of its members). */
export const KIND_FILES: Record<ModelKind, readonly string[]> = {
  autoencoder: [MODEL_FILES.model, MODEL_FILES.weights, MODEL_FILES.normalization, MODEL_FILES.threshold, MODEL_FILES.featureProfile],
  'robust-t2': [MODEL_FILES.robustT2, MODEL_FILES.featureProfile],
  'adaptive-z': [MODEL_FILES.adaptiveZ, MODEL_FILES.featureProfile],
  pca: [MODEL_FILES.pca, MODEL_FILES.featureProfile],
};
