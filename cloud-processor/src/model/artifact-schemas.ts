// The JSON files of a model folder, validated on load: a hand-edited or truncated file is refused with
// the file and field named, never half-loaded.
import { z } from 'zod';

export const MODEL_KIND = 'autoencoder+robust-z';

const finite = z.number().refine(Number.isFinite, 'must be finite');
const positive = finite.refine((v) => v > 0, 'must be > 0');

export const contractFileSchema = z.object({
  featureNames: z.array(z.string().min(1)).min(1),
  windowMs: z.number().int().positive(),
  featureVersion: z.number().int().nonnegative(),
  kind: z.literal(MODEL_KIND),
  name: z.string().min(1),
  version: z.string().min(1),
  trainingWindows: z.number().int().positive(),
  heldBackWindows: z.number().int().positive(),
  seed: z.number().int(),
  createdAt: z.string(),
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

/** The files of a model folder; contract.json is written last and marks the folder complete. */
export const MODEL_FILES = {
  model: 'model.json',
  weights: 'weights.bin',
  normalization: 'normalization.json',
  threshold: 'threshold.json',
  contract: 'contract.json',
} as const;
