// Reads figures out of a Prometheus text exposition (a /metrics page) of a process reached only over
// HTTP (the fault tests' and benchmarks' child processes): samples by name and labels, and histogram
// counts over an interval from two scrapes (their quantiles: bucketQuantile of @pdm/edge-gateway).

export type Histogram = Array<{ le: number; count: number }>;

/** A process's /metrics page, read the way a scraper reads it. */
export async function scrape(httpPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET /metrics on port ${httpPort}: HTTP ${response.status}`);
  return response.text();
}

interface Sample {
  name: string;
  labels: Map<string, string>;
  value: number;
}

function* samples(page: string): Generator<Sample> {
  for (const line of page.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = new Map<string, string>();
    for (const [, key = '', value = ''] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels.set(key, value);
    yield { name: match[1] ?? '', labels, value: Number(match[3]) };
  }
}

const hasLabels = (sample: Sample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => sample.labels.get(k) === v);

/** The sum of a metric's samples whose labels include `labels` (0 when there are none). */
export function metricValue(page: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const sample of samples(page)) if (sample.name === name && hasLabels(sample, labels)) sum += sample.value;
  return sum;
}

export async function readMetric(httpPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrape(httpPort), name, labels);
}

/** The cumulative buckets of the series of histogram `name` labelled exactly `labels` (besides `le`), ascending. */
export function histogram(page: string, name: string, labels: Record<string, string> = {}): Histogram {
  const buckets: Histogram = [];
  for (const sample of samples(page)) {
    const le = sample.labels.get('le');
    const exactly = sample.labels.size === Object.keys(labels).length + 1 && hasLabels(sample, labels);
    if (sample.name !== `${name}_bucket` || le === undefined || !exactly) continue;
    buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: sample.value });
  }
  return buckets.sort((a, b) => a.le - b.le);
}

/** What was observed between two scrapes of the same histogram. */
export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  return after.map((bucket, i) => ({ le: bucket.le, count: bucket.count - (before[i]?.count ?? 0) }));
}

/** Observations in a (delta) histogram. */
export const observations = (h: Histogram): number => h[h.length - 1]?.count ?? 0;
