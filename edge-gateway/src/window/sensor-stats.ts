import type { Moments } from './moments.js';

/** The statistics of one sensor over one window, as carried by `pdm.v1.SensorStats`. */
export interface WindowStatistics {
  count: number;
  mean: number;
  /** Population variance: M2 / n (the window is the whole population we describe, not a sample). */
  variance: number;
  std: number;
  min: number;
  max: number;
  /** Root mean square, hypot(mean, std) = sqrt(mean² + variance): no separate sum of squares to overflow. */
  rms: number;
  peakToPeak: number;
  /** Population skewness g1 = sqrt(n)·M3 / M2^1.5; 0 when the variance is 0. */
  skewness: number;
  /** Non-excess (Pearson) kurtosis n·M4 / M2², a normal distribution gives 3; 0 when the variance is 0. */
  kurtosis: number;
  /** max |x| / rms; 0 when rms is 0. */
  crestFactor: number;
}

/**
 * Derives the window statistics from an accumulator. Never returns NaN or ±Infinity:
 * - no readings: every statistic is 0;
 * - zero variance (one reading, a constant signal): skewness and kurtosis are 0. A real kurtosis is
 *   always ≥ 1, so 0 unambiguously means "undefined" to a consumer;
 * - a variance below the rounding resolution of the values (|x|·ε)² is rounding noise, not spread,
 *   and is treated as zero, so a constant signal at 1e9 cannot produce a random skewness;
 * - values so large that a power overflows (|x| ≳ 1e77 for M4) saturate at ±Number.MAX_VALUE, and a
 *   ratio that becomes undefined through that saturation is reported as 0.
 */
export function statisticsOf(m: Moments): WindowStatistics {
  const n = m.n;
  if (n === 0) {
    return {
      count: 0, mean: 0, variance: 0, std: 0, min: 0, max: 0, rms: 0,
      peakToPeak: 0, skewness: 0, kurtosis: 0, crestFactor: 0,
    };
  }
  const peak = Math.max(Math.abs(m.min), Math.abs(m.max));
  const resolution = peak * Number.EPSILON;
  const m2 = m.m2 > n * resolution * resolution ? m.m2 : 0;
  const variance = m2 / n;
  const rms = Math.hypot(m.mean, Math.sqrt(variance));
  let skewness = 0;
  let kurtosis = 0;
  if (m2 > 0) {
    skewness = (Math.sqrt(n) * m.m3) / Math.pow(m2, 1.5);
    kurtosis = (n * m.m4) / (m2 * m2);
  }
  return {
    count: n,
    mean: finite(m.mean),
    variance: finite(variance),
    std: finite(Math.sqrt(variance)),
    min: m.min,
    max: m.max,
    rms: finite(rms),
    peakToPeak: finite(m.max - m.min),
    skewness: finite(skewness),
    kurtosis: finite(kurtosis),
    crestFactor: rms > 0 ? finite(peak / rms) : 0,
  };
}

function finite(x: number): number {
  if (Number.isNaN(x)) return 0;
  if (x === Infinity) return Number.MAX_VALUE;
  if (x === -Infinity) return -Number.MAX_VALUE;
  return x;
}
