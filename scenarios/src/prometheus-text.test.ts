import { describe, expect, it } from 'vitest';
import { bucketQuantile } from '@pdm/edge-gateway';
import { histogram, histogramDelta, metricValue, observations } from './prometheus-text.js';

const page = (counts: [number, number, number, number]) => `# HELP lat_seconds latency
# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.1"} ${counts[0]}
lat_seconds_bucket{le="0.5"} ${counts[1]}
lat_seconds_bucket{le="1"} ${counts[2]}
lat_seconds_bucket{le="+Inf"} ${counts[3]}
lat_seconds_sum 12
lat_seconds_count ${counts[3]}
depth 42
depth_total{reason="x"} 7
stage_seconds_bucket{le="0.1",stage="a"} 1
stage_seconds_bucket{le="+Inf",stage="a"} 2
stage_seconds_bucket{le="0.1",stage="b"} 3
stage_seconds_bucket{le="+Inf",stage="b"} 4
`;

describe('Prometheus text figures', () => {
  it('reads a sample by name and labels, not a lookalike name', () => {
    expect(metricValue(page([0, 0, 0, 0]), 'depth')).toBe(42);
    expect(metricValue(page([0, 0, 0, 0]), 'depth_total', { reason: 'x' })).toBe(7);
    expect(metricValue(page([0, 0, 0, 0]), 'depth_total', { reason: 'y' })).toBe(0);
    expect(metricValue(page([0, 0, 0, 0]), 'missing')).toBe(0);
  });

  it('interpolates quantiles inside buckets, over the interval between two scrapes', () => {
    const before = histogram(page([10, 10, 10, 10]), 'lat_seconds');
    const after = histogram(page([10, 60, 110, 110]), 'lat_seconds');
    const interval = histogramDelta(after, before);
    expect(observations(interval)).toBe(100);
    // 50 observations in (0.1, 0.5], 50 in (0.5, 1]: the median is the top of the first of those.
    expect(bucketQuantile(0.5, interval)).toBeCloseTo(0.5);
    expect(bucketQuantile(0.25, interval)).toBeCloseTo(0.3);
    expect(bucketQuantile(0.99, interval)).toBeCloseTo(0.99);
  });

  it('reads the buckets of one labelled series of a histogram', () => {
    expect(histogram(page([0, 0, 0, 0]), 'stage_seconds', { stage: 'b' })).toEqual([
      { le: 0.1, count: 3 },
      { le: Infinity, count: 4 },
    ]);
    // Without labels, a labelled histogram has no series of that exact label set: no mixed buckets.
    expect(histogram(page([0, 0, 0, 0]), 'stage_seconds')).toEqual([]);
  });

  it('has no quantile without observations, and caps one in the +Inf bucket at the last bound', () => {
    expect(bucketQuantile(0.5, histogram(page([0, 0, 0, 0]), 'lat_seconds'))).toBeNaN();
    expect(bucketQuantile(0.5, histogram(page([0, 0, 0, 5]), 'lat_seconds'))).toBe(1);
  });
});
