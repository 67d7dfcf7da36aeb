// Batch scoring of an autoencoder model: normalise, one inference for the whole batch, combine the
// reconstruction and z terms (model/anomaly-score.ts). A window's score depends on it alone; its
// threshold is the trained one, or the machine's own online one for a model that asks for it
// (machine-thresholds.ts, the scorer's).
import { combineScores, reconstructionErrors } from '../model/anomaly-score.js';
import type { AutoencoderBundle } from '../model/model-bundle.js';
import { normalizeInto } from '../model/normalization.js';
import type { BatchItem, KindScore } from './kind-score.js';

export function scoreAutoencoderBatch(bundle: AutoencoderBundle, items: readonly BatchItem[]): KindScore[] {
  const d = bundle.layout.reads.length;
  const z = new Float32Array(items.length * d);
  items.forEach((p, i) => normalizeInto(bundle.normalization, p.raw, 0, z, i * d));
  const errors = reconstructionErrors(bundle.network, z, items.length, d);
  const threshold = bundle.threshold.threshold;
  return combineScores(errors, z, items.length, bundle.layout, bundle.threshold.scale).map(({ score, shares }) => ({ score, threshold, shares }));
}
