// Fits the adaptive-z model (model/adaptive-z.ts) to the feature rows of normal windows, in time order:
// per feature, the dominant period of its series and the series itself (the newest maxHistory window
// slots), from which every machine's history starts. The series has one value per window slot: a slot no
// window came for is a hole (NaN; null in adaptive-z.json), so its lags count time as scoring does.
// Nothing is held back: the threshold is a fixed z.
import type { AdaptiveZFile } from '../model/artifact-schemas.js';
import { dominantPeriod } from '../model/adaptive-z.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';

/**
 * Each row's slot: one after the previous row's, plus a slot for every window that did not come between
 * them. A row that does not lie after the previous one (several machines' windows interleaved) takes the
 * next slot, as the windows' order has it.
 */
function slotsOf(windowEnds: readonly number[], windowMs: number): number[] {
  const slots: number[] = [];
  windowEnds.forEach((end, i) => {
    slots.push(i === 0 ? 0 : slots[i - 1]! + Math.max(1, Math.round((end - windowEnds[i - 1]!) / windowMs)));
  });
  return slots;
}

/** `windowEnds[i]` (epoch ms) is where row i's window ended; windows last `windowMs`. */
export function fitAdaptiveZ(featureNames: readonly string[], rows: readonly ArrayLike<number>[], windowEnds: readonly number[], windowMs: number): AdaptiveZFile {
  const defaults = MODEL_DEFAULTS.adaptiveZ;
  const slots = slotsOf(windowEnds, windowMs);
  const length = rows.length === 0 ? 0 : slots[slots.length - 1]! + 1;
  const first = Math.max(0, length - defaults.maxHistory);
  const features = featureNames.map((_, j) => {
    const series = new Array<number>(length - first).fill(Number.NaN);
    rows.forEach((row, i) => {
      if (slots[i]! >= first) series[slots[i]! - first] = row[j]!;
    });
    const period = dominantPeriod(series, { minPeriod: defaults.minPeriod, maxPeriod: defaults.historyWindows, minAutocorrelation: defaults.minAutocorrelation });
    return { period, history: series };
  });
  return {
    featureNames: [...featureNames],
    features,
    shortWindows: defaults.shortWindows,
    historyWindows: defaults.historyWindows,
    threshold: defaults.threshold,
    ...(windowEnds.length > 0 ? { historyEnd: windowEnds[windowEnds.length - 1]! } : {}),
  };
}
