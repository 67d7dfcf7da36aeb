// Batch scoring of the pca kind (model/pca.ts): every window by itself against the trained model — no
// per-machine state for the score, so a new version serves from its first window. Its threshold is 1,
// or the machine's own online one for a model that asks for it (machine-thresholds.ts, the scorer's).
import { sensorShares } from '../model/features.js';
import type { PcaBundle } from '../model/model-bundle.js';
import { pcaScore, pcaWorkspace } from '../model/pca.js';
import type { BatchItem, KindScore } from './kind-score.js';

export function scorePcaBatch(bundle: PcaBundle, items: readonly BatchItem[]): KindScore[] {
  const work = pcaWorkspace(bundle.model);
  return items.map(({ raw }) => {
    const { score, terms } = pcaScore(bundle.model, raw, work);
    return { score, threshold: 1, shares: sensorShares(bundle.layout, terms) };
  });
}
