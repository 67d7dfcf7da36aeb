import type { WindowStatistics } from '../sensor-stats.js';

/**
 * Reference statistics by the textbook two-pass method (mean first, then central sums), with the
 * same conventions as `statisticsOf`: population variance, non-excess kurtosis, 0 when undefined.
 * Deviations are taken from the mean of x - values[0] (exact for nearby doubles), because a mean
 * rounded to a double at a 1e9 offset is itself 1e-4 standard deviations off and would bias the
 * skewness of the reference more than the code under test.
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

/** A small deterministic PRNG (mulberry32) so adversarial data is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
