import { describe, expect, it } from 'vitest';
import { histogram, histogramDelta, observations, quantile, sampleValue } from './prometheus-text.js';

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
`;

describe('Prometheus text figures', () => {
  it('reads a plain sample and ignores labelled lookalikes', () => {
    expect(sampleValue(page([0, 0, 0, 0]), 'depth')).toBe(42);
    expect(sampleValue(page([0, 0, 0, 0]), 'missing')).toBeNaN();
  });

  it('interpolates quantiles inside buckets, over the interval between two scrapes', () => {
    const before = histogram(page([10, 10, 10, 10]), 'lat_seconds');
    const after = histogram(page([10, 60, 110, 110]), 'lat_seconds');
    const interval = histogramDelta(after, before);
    expect(observations(interval)).toBe(100);
    // 50 observations in (0.1, 0.5], 50 in (0.5, 1]: the median is the top of the first of those.
    expect(quantile(interval, 0.5)).toBeCloseTo(0.5);
    expect(quantile(interval, 0.25)).toBeCloseTo(0.3);
    expect(quantile(interval, 0.99)).toBeCloseTo(0.99);
  });

  it('has no quantile without observations, and caps one in the +Inf bucket at the last bound', () => {
    expect(quantile(histogram(page([0, 0, 0, 0]), 'lat_seconds'), 0.5)).toBeNaN();
    expect(quantile(histogram(page([0, 0, 0, 5]), 'lat_seconds'), 0.5)).toBe(1);
  });
});
