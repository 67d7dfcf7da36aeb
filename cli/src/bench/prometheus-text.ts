// Reads figures out of a Prometheus text exposition (a /metrics page): plain samples, and histogram
// quantiles over an interval, computed like PromQL's histogram_quantile from two scrapes.

export type Histogram = Array<{ le: number; count: number }>;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The value of the sample `name` without labels, or NaN when the page has none. */
export function sampleValue(page: string, name: string): number {
  const match = new RegExp(`^${escapeRegExp(name)} (\\S+)$`, 'm').exec(page);
  return match ? Number(match[1]) : Number.NaN;
}

/** The cumulative buckets of histogram `name` (no other labels), in ascending `le`. */
export function histogram(page: string, name: string): Histogram {
  const buckets: Histogram = [];
  for (const match of page.matchAll(new RegExp(`^${escapeRegExp(name)}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))) {
    buckets.push({ le: match[1] === '+Inf' ? Infinity : Number(match[1]), count: Number(match[2]) });
  }
  return buckets.sort((a, b) => a.le - b.le);
}

/** What was observed between two scrapes of the same histogram. */
export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  return after.map((bucket, i) => ({ le: bucket.le, count: bucket.count - (before[i]?.count ?? 0) }));
}

/** Observations in a (delta) histogram. */
export const observations = (h: Histogram): number => h[h.length - 1]?.count ?? 0;

/**
 * The q-quantile, interpolating linearly inside the bucket that holds it (as histogram_quantile does);
 * NaN without observations, the highest finite bound when it falls in the +Inf bucket.
 */
export function quantile(h: Histogram, q: number): number {
  const total = observations(h);
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const { le, count } of h) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / Math.max(1, count - lowerCount);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
