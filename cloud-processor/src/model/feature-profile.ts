// A model's feature profile (feature-profile.json): per feature, bins cut at the training data's
// quantiles and the share of training windows in each bin. Live windows counted into the same bins give
// the population stability index (PSI), how far the features a model now sees have moved from those it
// was trained on. The file is optional: a model without it (trained before profiles existed) loads and
// scores as before, and reports no drift.
import { z } from 'zod';

const finite = z.number().refine(Number.isFinite, 'must be finite');

/** The smallest share a bin counts with in the PSI (an empty bin's ln(a/e) would be infinite). */
export const PSI_FLOOR = 1e-4;

/**
 * One feature's bins. Bin i holds the values v with edges[i-1] < v <= edges[i] (bin 0 everything up to
 * edges[0], the last bin everything above the last edge): edges.length + 1 bins.
 */
export const featureBinsSchema = z
  .object({
    /** At most 255 (256 bins): drift monitoring keeps each window's bin in one byte (scoring/drift.ts). */
    edges: z.array(finite).max(255, 'must have at most 255 entries (256 bins; drift keeps a bin in one byte)'),
    /** Share of the training windows in each bin (sums to 1). */
    shares: z.array(finite.refine((s) => s >= 0 && s <= 1, 'must be in [0, 1]')),
  })
  .refine((f) => f.shares.length === f.edges.length + 1, 'shares must have one entry more than edges')
  .refine((f) => f.edges.every((e, i) => i === 0 || e > f.edges[i - 1]!), 'edges must increase')
  .refine((f) => Math.abs(f.shares.reduce((a, b) => a + b, 0) - 1) < 1e-6, 'shares must sum to 1');
export type FeatureBins = z.infer<typeof featureBinsSchema>;

export const featureProfileFileSchema = z
  .object({
    featureNames: z.array(z.string().min(1)).min(1),
    /** The training windows the shares were counted from. */
    windows: z.number().int().positive(),
    features: z.array(featureBinsSchema),
  })
  .refine((p) => p.features.length === p.featureNames.length, 'features must have one entry per feature name');
export type FeatureProfileFile = z.infer<typeof featureProfileFileSchema>;

/** The bin `value` falls in: the number of edges below it (binary search). */
export function binOf(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * PSI = Σ (a − e)·ln(a / e) over the bins, a the live share and e the training share of a bin, both
 * floored at PSI_FLOOR. 0 for identical distributions; < 0.1 is usually read as no shift, 0.1–0.25 a
 * moderate one, > 0.25 a significant one.
 */
export function populationStabilityIndex(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (expected.length !== actual.length) throw new RangeError(`${expected.length} expected shares but ${actual.length} actual`);
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, PSI_FLOOR);
    const a = Math.max(actual[i]!, PSI_FLOOR);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}
