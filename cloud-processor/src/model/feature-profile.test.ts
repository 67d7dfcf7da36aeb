import { describe, expect, it } from 'vitest';
import { binOf, featureProfileFileSchema, populationStabilityIndex, PSI_FLOOR } from './feature-profile.js';

describe('populationStabilityIndex', () => {
  it('is 0 for the same shares', () => {
    expect(populationStabilityIndex([0.2, 0.3, 0.5], [0.2, 0.3, 0.5])).toBe(0);
  });

  it('matches a hand computation on two bins', () => {
    // (0.9 − 0.5)·ln(0.9/0.5) + (0.1 − 0.5)·ln(0.1/0.5) = 0.4·ln 9
    expect(populationStabilityIndex([0.5, 0.5], [0.9, 0.1])).toBeCloseTo(0.8788898309, 9);
    // [0.25, 0.75] against [0.5, 0.5]: 0.25·ln 2 + 0.25·ln 1.5
    expect(populationStabilityIndex([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.2746530722, 9);
  });

  it('floors an empty bin instead of going infinite', () => {
    expect(PSI_FLOOR).toBe(1e-4);
    // Training never saw bin 2; 1 % of live windows land there: (0.99 − 1)·ln 0.99 + (0.01 − 1e-4)·ln(0.01 / 1e-4).
    expect(populationStabilityIndex([1, 0], [0.99, 0.01])).toBeCloseTo(0.0456916882, 9);
  });
});

describe('binOf', () => {
  it('puts a value equal to an edge in the bin below it (bins are closed on the right)', () => {
    const edges = [1, 2, 3];
    expect([0, 1, 1.5, 2, 2.5, 3, 4].map((v) => binOf(edges, v))).toEqual([0, 0, 1, 1, 2, 2, 3]);
    expect(binOf([], 42)).toBe(0);
  });
});

describe('featureProfileFileSchema', () => {
  const valid = { featureNames: ['vib.rms'], windows: 4, features: [{ edges: [1], shares: [0.5, 0.5] }] };

  it('accepts a consistent profile', () => {
    expect(featureProfileFileSchema.safeParse(valid).success).toBe(true);
  });

  it.each([
    ['shares that do not sum to 1', { ...valid, features: [{ edges: [1], shares: [0.5, 0.6] }] }, 'shares must sum to 1'],
    ['edges that do not increase', { ...valid, features: [{ edges: [2, 1], shares: [0.5, 0.25, 0.25] }] }, 'edges must increase'],
    ['one share too few', { ...valid, features: [{ edges: [1, 2], shares: [0.5, 0.5] }] }, 'one entry more than edges'],
    ['bins for another number of features', { ...valid, featureNames: ['vib.rms', 'temp.mean'] }, 'one entry per feature name'],
  ])('refuses %s', (_what, profile, message) => {
    const result = featureProfileFileSchema.safeParse(profile);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain(message);
  });
});
