import { describe, expect, it } from 'vitest';
import { calibrateThreshold } from './calibration.js';
import { gaussian } from '../test-support/synthetic-pump.js';

/** Lognormal scores with median 1 and log-σ 0.5, like steady operation. */
function steadyScores(n: number, seed: number): number[] {
  const rand = gaussian(seed);
  return Array.from({ length: n }, () => Math.exp(0.5 * rand()));
}

describe('calibrateThreshold', () => {
  it('fits the steady scores and is not lifted by a few percent of transient windows', () => {
    const steady = steadyScores(340, 1);
    // A 3-minute stop of one pump among four: 17 windows scoring a hundred times a typical one.
    const withStop = [...steady, ...Array.from({ length: 17 }, (_, i) => 100 + 10 * i)];
    const clean = calibrateThreshold(steady);
    const contaminated = calibrateThreshold(withStop);
    // ≈ exp(3.26 · 0.5) = 5.1 for a log-σ of 0.5.
    expect(clean.threshold).toBeGreaterThan(3.5);
    expect(clean.threshold).toBeLessThan(7);
    expect(contaminated.threshold).toBeLessThan(1.3 * clean.threshold);
    expect(contaminated.maxFloor).toBe(false);
    expect(contaminated.heldBackAbove).toBe(17);
  });

  it('never sets the threshold below the largest of few held-back scores', () => {
    const few = [...steadyScores(11, 2), 40];
    const calibration = calibrateThreshold(few);
    expect(calibration.maxFloor).toBe(true);
    expect(calibration.threshold).toBeCloseTo(44, 6);
    expect(calibration.heldBackAbove).toBe(0);
  });

  it('counts overlapping (hopping) held-back windows at their independent share: a wider bound, and the maximum floor when few', () => {
    const scores = steadyScores(249, 3);
    const tumbling = calibrateThreshold(scores);
    const hopping = calibrateThreshold(scores, { independentShare: 0.1 });
    // The same median and MAD, a tolerance factor for ~25 windows instead of 249.
    expect(hopping.logCenter).toBe(tumbling.logCenter);
    expect(hopping.tailSigmas).toBeCloseTo(3.85, 1);
    expect(tumbling.tailSigmas).toBeCloseTo(3.3, 1);
    expect(tumbling.maxFloor).toBe(false);
    expect(hopping.maxFloor).toBe(true);
    expect(hopping.threshold).toBeGreaterThanOrEqual(1.1 * Math.max(...scores));
  });

  it('calibrates on the held-back windows of a long training (1,000,000: far more than one call takes as arguments)', () => {
    const scores = steadyScores(1_000_000, 4);
    scores[123_456] = 1e6; // a peak far above the lognormal's (exp(0.5 · 6) ≈ 20 at most here)
    const calibration = calibrateThreshold(scores);
    expect(calibration.heldBackMax).toBe(1e6);
    expect(calibration.threshold).toBeGreaterThan(3.5);
  });

  it('refuses fewer than two held-back windows', () => {
    expect(() => calibrateThreshold([1])).toThrow(/at least 2 held-back windows, got 1/);
  });
});
