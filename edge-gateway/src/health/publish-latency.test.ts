import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { HistogramReading } from '../ops/metrics.js';
import { bucketQuantile, intervalLatency } from './publish-latency.js';

const reading = (sum: number, counts: [number, number][]): HistogramReading => ({ sum, count: counts.at(-1)![1], buckets: counts.map(([le, count]) => ({ le, count })) });

describe('bucketQuantile (Prometheus histogram_quantile)', () => {
  const buckets = reading(0, [
    [0.01, 0],
    [0.025, 50],
    [0.05, 100],
    [Infinity, 100],
  ]).buckets;

  it('interpolates linearly inside the bucket that holds the rank', () => {
    expect(bucketQuantile(0.5, buckets)).toBeCloseTo(0.025, 12);
    expect(bucketQuantile(0.99, buckets)).toBeCloseTo(0.025 + 0.025 * (49 / 50), 12);
    expect(bucketQuantile(0.25, buckets)).toBeCloseTo(0.0175, 12);
  });

  it('starts the first bucket at 0, gives the highest finite bound for a rank in +Inf, NaN when empty', () => {
    expect(bucketQuantile(0.5, [{ le: 0.1, count: 4 }, { le: Infinity, count: 4 }])).toBeCloseTo(0.05, 12);
    expect(bucketQuantile(0.99, [{ le: 0.1, count: 1 }, { le: Infinity, count: 10 }])).toBe(0.1);
    expect(bucketQuantile(0.5, [{ le: Infinity, count: 0 }])).toBeNaN();
  });
});

describe('intervalLatency', () => {
  it('summarises only what was confirmed since the previous reading of a real prom-client histogram', async () => {
    const registry = new Registry();
    const histogram = new Histogram({ name: 'latency_seconds', help: 'test', buckets: [0.01, 0.1, 1], registers: [registry] });
    const read = async (): Promise<HistogramReading> => {
      const { values } = await histogram.get();
      const named = (suffix: string) => values.filter((v) => v.metricName === `latency_seconds${suffix}`);
      return {
        sum: named('_sum')[0]!.value,
        count: named('_count')[0]!.value,
        buckets: named('_bucket').map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), count: v.value })),
      };
    };
    for (let i = 0; i < 100; i++) histogram.observe(0.005); // fast, before the previous report
    const previous = await read();
    for (let i = 0; i < 10; i++) histogram.observe(0.5); // slow, in the interval
    const latency = intervalLatency(await read(), previous);
    expect(latency?.confirmed).toBe(10);
    expect(latency?.meanMs).toBeCloseTo(500, 9);
    expect(latency?.p50Ms).toBeCloseTo(550, 9); // rank 5 of 10 in the (0.1, 1] bucket
    expect(latency?.p99Ms).toBeCloseTo(991, 9);
    expect(intervalLatency(await read(), await read())).toBeUndefined();
    expect(intervalLatency(previous)).toMatchObject({ confirmed: 100, meanMs: expect.closeTo(5, 9) as number });
  });
});
