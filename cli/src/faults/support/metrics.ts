// Reads a Prometheus /metrics endpoint the way a scraper does, for processes the test only reaches
// over HTTP (child processes).
export async function scrape(httpPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET /metrics on port ${httpPort}: HTTP ${response.status}`);
  return response.text();
}

/** The sum of a metric's samples whose labels include `labels` (0 when there are none). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map<string, string>();
    for (const [, key = '', value = ''] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) present.set(key, value);
    if (Object.entries(labels).every(([k, v]) => present.get(k) === v)) sum += Number(match[3]);
  }
  return sum;
}

export async function readMetric(httpPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrape(httpPort), name, labels);
}
