// Fits the adaptive-z model (model/adaptive-z.ts) to the feature rows of normal windows, in time order:
// per feature, the dominant period of its series and the series itself (the newest maxHistory windows),
// from which every machine's history starts. Nothing is held back: the threshold is a fixed z.
import type { AdaptiveZFile } from '../model/artifact-schemas.js';
import { dominantPeriod } from '../model/adaptive-z.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';

export function fitAdaptiveZ(featureNames: readonly string[], rows: readonly ArrayLike<number>[]): AdaptiveZFile {
  const defaults = MODEL_DEFAULTS.adaptiveZ;
  const kept = rows.slice(-defaults.maxHistory);
  const features = featureNames.map((_, j) => {
    const history = kept.map((row) => row[j]!);
    const period = dominantPeriod(history, { minPeriod: defaults.minPeriod, maxPeriod: defaults.historyWindows, minAutocorrelation: defaults.minAutocorrelation });
    return { period, history };
  });
  return { featureNames: [...featureNames], features, shortWindows: defaults.shortWindows, historyWindows: defaults.historyWindows, threshold: defaults.threshold };
}
