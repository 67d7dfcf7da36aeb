import { describe, expect, it } from 'vitest';
import { layoutOf, sensorShares } from './features.js';
import { initialBaseline, learnBaseline, t2Score, type RobustT2Model } from './robust-t2.js';

// C = [[4, 2], [2, 3]] → C⁻¹ = [[3, −2], [−2, 4]] / 8.
const model: RobustT2Model = { d: 2, location: Float64Array.from([10, 5]), precision: Float64Array.from([3 / 8, -2 / 8, -2 / 8, 4 / 8]), threshold: 13.8, tauMs: 100_000 };

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
  it('moves W/τ of the way to a normal window, not at all for one that exceeded, and never for an older window', () => {
    const state = initialBaseline(model);
    learnBaseline(model, state, [20, 5], 10_000, 1_000, false);
    expect(state.baseline).toEqual([11, 5]); // λ = 10 s / 100 s
    learnBaseline(model, state, [50, 50], 10_000, 2_000, true);
    expect(state.baseline).toEqual([11, 5]);
    expect(state.decidedUntil).toBe(2_000);
    // A late revision of the window that ended at 1000 arrives after 2000 was decided: it teaches nothing.
    learnBaseline(model, state, [21, 5], 10_000, 1_000, false);
    expect(state.baseline).toEqual([11, 5]);
  });
});
