// Fits the robust per-feature normalisation (normalization.json) on the training windows.
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { parseFeatureName, type StatisticName } from '../model/features.js';
import { logOf, type Normalization } from '../model/normalization.js';
import { madSigma, median, quantile, smallestGap } from '../model/robust-stats.js';

export interface NormalizerOptions {
  relativeScaleFloor?: number;
  absoluteScaleFloor?: number;
  zClip?: number;
  logShiftFraction?: number;
}

/**
 * Fits the transform, centre and scale per feature on `rows` (one number[] per window).
 *
 * Dispersion and shape statistics (std, kurtosis, crest factor…) change multiplicatively: a stop takes a
 * vibration std to a twentieth, a spin-down takes a speed std from 1 to 800 rpm. On a linear scale the
 * latter is thousands of σ and would decide every score it appears in; on a log scale it is a few tens.
 * The shift (a share of the feature's upper-quartile training value: its typical size, non-zero even when
 * most windows read 0) keeps ln finite for a std of 0 and makes changes far below that size count little.
 *
 * The scale is the MAD σ: unlike the standard deviation it ignores the windows where a machine was
 * stopping, stopped or starting, even when a stop filled a fifth of the training hour. When a feature is
 * mostly constant (quantised readings) the MAD collapses to 0, so the scale is at least half the smallest
 * step between values seen in training: one quantisation step is then 2 σ, not infinity. A floor relative
 * to the feature's size keeps a feature that never moved in training finite too.
 */
export function fitNormalization(featureNames: string[], rows: readonly (readonly number[])[], options: NormalizerOptions = {}): Normalization {
  const relFloor = options.relativeScaleFloor ?? MODEL_DEFAULTS.relativeScaleFloor;
  const absFloor = options.absoluteScaleFloor ?? MODEL_DEFAULTS.absoluteScaleFloor;
  const shiftFraction = options.logShiftFraction ?? MODEL_DEFAULTS.logShiftFraction;
  const logShift: (number | null)[] = [];
  const center: number[] = [];
  const scale: number[] = [];
  featureNames.forEach((name, j) => {
    let column = rows.map((r) => r[j]!);
    const shift = isLogScaled(parseFeatureName(name).stat) ? Math.max(shiftFraction * Math.abs(quantile(column, 0.75)), absFloor) : null;
    if (shift !== null) column = column.map((x) => logOf(x, shift));
    const c = median(column);
    const spread = Math.max(madSigma(column, c), smallestGap(column) / 2);
    logShift.push(shift);
    center.push(c);
    // On a log scale a difference already is a relative change, so the relative floor applies as is.
    scale.push(Math.max(spread, shift === null ? relFloor * Math.abs(c) : relFloor, absFloor));
  });
  return { featureNames: [...featureNames], logShift, center, scale, zClip: options.zClip ?? MODEL_DEFAULTS.zClip };
}

function isLogScaled(stat: StatisticName): boolean {
  return (MODEL_DEFAULTS.logStatistics as readonly StatisticName[]).includes(stat);
}
