// Publish latency over one report interval, from two readings of the gateway's cumulative latency
// histogram: the difference of their bucket counts is the histogram of the interval alone.
import type { HistogramReading } from '../ops/metrics.js';

export interface IntervalLatency {
  /** Windows confirmed in the interval. */
  confirmed: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * The latency of what was confirmed between `previous` and `current` (readings of the same
 * histogram; no `previous`: since the process started), or undefined when nothing was.
 */
export function intervalLatency(current: HistogramReading, previous?: HistogramReading): IntervalLatency | undefined {
  const confirmed = current.count - (previous?.count ?? 0);
  if (confirmed <= 0) return undefined;
  const buckets = current.buckets.map((bucket, i) => ({ le: bucket.le, count: bucket.count - (previous?.buckets[i]?.count ?? 0) }));
  return {
    confirmed,
    meanMs: (1000 * (current.sum - (previous?.sum ?? 0))) / confirmed,
    p50Ms: 1000 * bucketQuantile(0.5, buckets),
    p99Ms: 1000 * bucketQuantile(0.99, buckets),
  };
}

/**
 * Prometheus' histogram_quantile on cumulative buckets (ascending upper bounds, +Inf last): linear
 * interpolation inside the bucket that holds the rank, the first bucket starting at 0; a rank in the
 * +Inf bucket gives the highest finite bound. NaN for an empty histogram.
 */
export function bucketQuantile(q: number, buckets: HistogramReading['buckets']): number {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const { le, count } of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
