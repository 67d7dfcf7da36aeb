// The soak's memory verdict (issue #17: "RSS flat within ±15 % after the first 5 minutes"): once the
// settling time is over, every sample must lie within ±tolerance of the median of those samples. The
// median, not the first sample, so one garbage-collection peak or trough at the start does not decide.

export interface RssVerdict {
  /** Samples taken after the settling time. */
  samples: number;
  medianMb: number;
  minMb: number;
  maxMb: number;
  /** Largest distance of a sample from the median, as a fraction of the median. */
  worstDeviation: number;
  flat: boolean;
}

/** `rssMb[i]` taken at `atMs[i]` since the soak began; undefined when nothing was sampled after settling. */
export function rssFlatness(atMs: readonly number[], rssMb: readonly number[], settleMs: number, tolerance: number): RssVerdict | undefined {
  const settled = rssMb.filter((_, i) => (atMs[i] ?? 0) > settleMs);
  if (settled.length === 0) return undefined;
  const sorted = [...settled].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const medianMb = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  const minMb = sorted[0]!;
  const maxMb = sorted[sorted.length - 1]!;
  const worstDeviation = Math.max(medianMb - minMb, maxMb - medianMb) / medianMb;
  return { samples: settled.length, medianMb, minMb, maxMb, worstDeviation, flat: worstDeviation <= tolerance };
}
