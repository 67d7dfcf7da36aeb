// The statistics of pdm.v1.SensorStats by their definitions (README "Stable statistics"), computed the
// textbook way: reference values for tests of the gateway's online moments, and the statistics of
// synthetic windows for the processor's model tests. Slow and exact; nothing in production uses it.
import type { SensorStats } from '../gen/pdm/v1/features_pb.js';

/** The statistics of one sensor over one window, without its id and reading counts. */
export type WindowStatistics = Pick<SensorStats, 'count' | 'mean' | 'variance' | 'std' | 'min' | 'max' | 'rms' | 'peakToPeak' | 'skewness' | 'kurtosis' | 'crestFactor'>;

/**
 * Reference statistics by the two-pass method (mean first, then central sums): population variance,
 * non-excess kurtosis, 0 when undefined. Deviations are taken from the mean of x - values[0] (exact for
 * nearby doubles), because a mean rounded to a double at a 1e9 offset is itself 1e-4 standard deviations
 * off and would bias the skewness of the reference more than the code under test.
 */
export function twoPassStatistics(values: readonly number[]): WindowStatistics {
  const n = values.length;
  const shift = values[0] ?? 0;
  const shifted = values.map((x) => x - shift);
  const shiftedMean = shifted.reduce((s, y) => s + y, 0) / n;
  const mean = shift + shiftedMean;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  for (const y of shifted) {
    const d = y - shiftedMean;
    s2 += d * d;
    s3 += d * d * d;
    s4 += d * d * d * d;
  }
  const variance = s2 / n;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const rms = Math.sqrt(values.reduce((s, x) => s + x * x, 0) / n);
  const peak = Math.max(Math.abs(min), Math.abs(max));
  return {
    count: n,
    mean,
    variance,
    std: Math.sqrt(variance),
    min,
    max,
    rms,
    peakToPeak: max - min,
    skewness: s2 > 0 ? (Math.sqrt(n) * s3) / Math.pow(s2, 1.5) : 0,
    kurtosis: s2 > 0 ? (n * s4) / (s2 * s2) : 0,
    crestFactor: rms > 0 ? peak / rms : 0,
  };
}
