import { describe, expect, it } from 'vitest';
import { layoutOf, sensorShares } from './features.js';
import { expectedFeatures, initialBaseline, learnBaseline, t2Score, thresholdFor, widenAfterGap, type RobustT2Model } from './robust-t2.js';

// C = [[4, 2], [2, 3]] → C⁻¹ = [[3, −2], [−2, 4]] / 8.
const model: RobustT2Model = { d: 2, location: Float64Array.from([10, 5]), precision: Float64Array.from([3 / 8, -2 / 8, -2 / 8, 4 / 8]), threshold: 13.8, tauMs: 100_000, operatingPoint: null };

describe('t2Score', () => {
  it('is (x − b)ᵀ C⁻¹ (x − b), split into terms that sum to it', () => {
    const terms = new Float64Array(2);
    const score = t2Score(model, [12, 4], model.location, new Float64Array(2), terms);
    // r = (2, −1): C⁻¹r = (8/8, −8/8) = (1, −1); D² = 2·1 + (−1)(−1) = 3.
    expect(score).toBeCloseTo(3, 12);
    expect([...terms]).toEqual([2, 1]);
  });

  it('gives each sensor its positive share of the terms', () => {
    const layout = layoutOf({ featureNames: ['p.mean', 'p.rms', 'q.mean'], windowMs: 10_000, featureVersion: 1 });
    expect([...sensorShares(layout, [3, 1, 4])]).toEqual([0.5, 0.5]);
    // q's term is negative (it moved against its usual relation with p): it gets no share.
    expect([...sensorShares(layout, [3, 1, -0.5])]).toEqual([1, 0]);
  });
});

describe('learnBaseline', () => {
  it('moves W/τ of the way to a normal window once 6 newer ones were normal, not at all for one that exceeded, and never for an older window', () => {
    const state = initialBaseline(model, 'm');
    learnBaseline(model, state, [20, 5], [10, 5], 10_000, 1_000, false);
    expect(state.baseline).toEqual([10, 5]); // waiting for the windows after it
    for (let end = 2_000; end <= 6_000; end += 1_000) learnBaseline(model, state, [10, 5], [10, 5], 10_000, end, false);
    expect(state.baseline).toEqual([10, 5]);
    learnBaseline(model, state, [10, 5], [10, 5], 10_000, 7_000, false);
    expect(state.baseline).toEqual([11, 5]); // the 7th window confirms the 1st: λ = 10 s / 100 s of 20 − 10
    // An exceedance teaches nothing and discards the 6 windows still waiting: 6 more normal ones teach nothing.
    learnBaseline(model, state, [50, 50], [11, 5], 10_000, 8_000, true);
    for (let end = 9_000; end <= 14_000; end += 1_000) learnBaseline(model, state, [12, 5], [11, 5], 10_000, end, false);
    expect(state.baseline).toEqual([11, 5]);
    expect(state.decidedUntil).toBe(14_000);
    // A late revision of the window that ended at 1000 arrives after 14000 was decided: it teaches nothing.
    learnBaseline(model, state, [21, 5], [11, 5], 10_000, 1_000, false);
    expect(state.pending).toHaveLength(6);
    expect(state.baseline).toEqual([11, 5]);
  });
  it('remembers one baseline array for the decided windows while the baseline stays where it is, a copy once it moves', () => {
    const state = initialBaseline(model, 'm');
    for (let end = 1_000; end <= 7_000; end += 1_000) learnBaseline(model, state, [20, 5], [10, 5], 10_000, end, false);
    // The 7th window confirmed the 1st and moved the baseline after it was remembered: 7 windows, one array.
    expect(state.baseline).toEqual([11, 5]);
    expect(new Set(state.recent.map((r) => r.baseline)).size).toBe(1);
    expect(state.recent[0]!.baseline).toEqual([10, 5]);
    learnBaseline(model, state, [20, 5], [11, 5], 10_000, 8_000, false);
    expect(state.recent[7]!.baseline).toEqual([11, 5]);
    expect(state.recent[7]!.baseline).not.toBe(state.baseline); // a copy: the baseline moves on
    expect(state.recent[6]!.baseline).toEqual([10, 5]);
  });
});

describe('widenAfterGap', () => {
  /** A machine whose newest decided window ended at 60 s, with windows still waiting to teach. */
  const decidedUntil60s = () => {
    const state = initialBaseline(model, 'm');
    for (let end = 10_000; end <= 60_000; end += 10_000) learnBaseline(model, state, [10, 5], [10, 5], 10_000, end, false);
    return state;
  };

  it('widens the threshold by 2 training covariances per τ of gap and drops the windows waiting from before it', () => {
    const state = decidedUntil60s();
    expect(state.pending).toHaveLength(6);
    widenAfterGap(model, state, 60_000); // the next window: no gap
    expect(state.spread).toBeUndefined();
    expect(thresholdFor(model, state, 80_000)).toBe(13.8);
    widenAfterGap(model, state, 135_000); // 75 s after the last window ended, τ = 100 s: 2 × 0.75
    expect(state.spread).toBeCloseTo(1.5, 12);
    expect(state.pending).toBeUndefined();
    expect(thresholdFor(model, state, 145_000)).toBeCloseTo(13.8 * 2.5, 12);
    // A window decided before the gap keeps the threshold it was decided against.
    expect(thresholdFor(model, state, 60_000)).toBe(13.8);
  });

  it('leaves a model without a baseline, and a machine with no window decided yet, as they are', () => {
    const fixed = { ...model, tauMs: null };
    const state = initialBaseline(fixed, 'm');
    learnBaseline(fixed, state, [10, 5], [10, 5], 10_000, 10_000, false);
    widenAfterGap(fixed, state, 3_600_000);
    expect(state.spread).toBeUndefined();
    const first = initialBaseline(model, 'm');
    widenAfterGap(model, first, 3_600_000);
    expect(first.spread).toBeUndefined();
  });

  it('then learns the average of the normal windows after the gap until the gain is back down to W/τ', () => {
    const state = decidedUntil60s();
    widenAfterGap(model, state, 110_000); // spread 1: the level is as unsure as one window
    const after = [14, 16, 15, 17, 13, 18, 12, 16, 15, 14, 16, 13, 15, 17, 14, 16];
    const confirmed: number[] = [];
    let end = 120_000;
    for (const a of after) {
      learnBaseline(model, state, [a, 5], state.baseline, 10_000, end, false, thresholdFor(model, state, end));
      end += 10_000;
      if (state.recent.length > 6 + confirmed.length + 6) confirmed.push(after[confirmed.length]!);
    }
    // 16 windows after the gap: the first 10 taught (each waits for 6 newer ones).
    expect(confirmed).toHaveLength(10);
    // Kalman with the level as unsure as one window: gains 1/2, 1/3, …, each window weighed alike with
    // the level before the gap, until 1/(n + 1) ≤ W/τ = 0.1 (n = 9); the 10th moves it by W/τ.
    const averaged = (10 + confirmed.slice(0, 9).reduce((x, y) => x + y, 0)) / 10;
    expect(state.baseline[0]).toBeCloseTo(averaged + 0.1 * (confirmed[9]! - averaged), 9);
    expect(state.baseline[1]).toBeCloseTo(5, 12);
    expect(state.spread).toBeUndefined();
    // The windows decided meanwhile were judged against a threshold shrinking back to the model's.
    const thresholds = state.recent.slice(-16).map((r) => r.threshold);
    expect(thresholds[0]).toBeCloseTo(13.8 * 2, 12);
    expect(thresholds.slice(0, 7).every((t) => t === thresholds[0])).toBe(true); // nothing taught yet
    expect(thresholds[7]).toBeCloseTo(13.8 * 1.5, 12);
    expect(thresholds[8]).toBeCloseTo(13.8 * (1 + 1 / 3), 12);
  });
});

describe('expectedFeatures', () => {
  it('is the baseline when the location does not follow an operating point', () => {
    expect([...expectedFeatures(model, [99, 99], [11, 5], new Float64Array(2))]).toEqual([11, 5]);
  });

  it('moves the baseline by slope·u + curve·u², u the operating feature standardised', () => {
    // Feature 0 is the operating point (center 100, scale 10); feature 1 follows it as 2u + 0.5u².
    const op = { feature: 0, center: 100, scale: 10, min: -3, max: 3, slope: Float64Array.from([10, 2]), curve: Float64Array.from([0, 0.5]) };
    const following: RobustT2Model = { ...model, operatingPoint: op };
    // x₀ = 120: u = 2 → feature 0: 100 + 10·2 = 120 (itself), feature 1: 5 + 2·2 + 0.5·4 = 11.
    expect([...expectedFeatures(following, [120, 0], [100, 5], new Float64Array(2))]).toEqual([120, 11]);
    // x₀ = 150: u = 5 is 2 beyond the trained range [−3, 3]; feature 1 goes on along the tangent at 3:
    // 2·3 + 0.5·9 = 10.5 there, slope 2 + 2·0.5·3 = 5, so 5 + 10.5 + 5·2 = 25.5 (the quadratic: 27.5).
    // The operating feature itself (no curve) stays exact: 100 + 10·5.
    expect([...expectedFeatures(following, [150, 0], [100, 5], new Float64Array(2))]).toEqual([150, 25.5]);
  });

  it('teaches the baseline only what the operating point does not explain', () => {
    const op = { feature: 0, center: 100, scale: 10, min: -3, max: 3, slope: Float64Array.from([10, 2]), curve: Float64Array.from([0, 0]) };
    const following: RobustT2Model = { ...model, location: Float64Array.from([100, 5]), operatingPoint: op };
    const state = initialBaseline(following, 'm');
    const x = [110, 8]; // u = 1: expected (110, 7); feature 1 is 1 above it
    // Seven such windows: the 7th confirms the 1st (learnBaseline's delay).
    for (let end = 1_000; end <= 7_000; end += 1_000) learnBaseline(following, state, x, expectedFeatures(following, x, state.baseline, new Float64Array(2)), 10_000, end, false);
    expect(state.baseline).toEqual([100, 5.1]); // λ = 0.1 of the unexplained 1
  });
});
