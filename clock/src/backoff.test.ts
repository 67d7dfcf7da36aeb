import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const options = { initialMs: 100, multiplier: 2, maxMs: 1_000 };

  it('grows exponentially up to the cap when the random draw is 0 (no jitter taken)', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, options, () => 0))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('takes off at most the jitter fraction of the delay', () => {
    expect(backoffDelay(3, options, () => 0.5)).toBeCloseTo(400 * (1 - 0.2 * 0.5));
    expect(backoffDelay(3, { ...options, jitter: 1 }, () => 0.999)).toBeCloseTo(0.4);
    expect(backoffDelay(3, { ...options, jitter: 0 }, () => 0.999)).toBe(400);
  });

  it('spreads retries of many clients that failed together', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(4, { ...options, jitter: 0.5 }));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(400);
    expect(Math.max(...delays)).toBeLessThanOrEqual(800);
    expect(new Set(delays.map((d) => Math.round(d))).size).toBeGreaterThan(50);
  });

  it('refuses a nonsensical attempt or jitter', () => {
    expect(() => backoffDelay(0, options)).toThrow(RangeError);
    expect(() => backoffDelay(1, { ...options, jitter: 2 })).toThrow(/jitter must be within 0–1/);
  });
});
