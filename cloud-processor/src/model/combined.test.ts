import { describe, expect, it } from 'vitest';
import { calibratedScore } from './calibrated-score.js';
import { combineCalibrated, parseKind } from './combined.js';

describe('the calibrated scale', () => {
  it('is 1 at every kind threshold', () => {
    expect(calibratedScore('robust-t2', 22.458, 22.458)).toBe(1);
    expect(calibratedScore('autoencoder', 4.2, 4.2)).toBe(1);
    expect(calibratedScore('adaptive-z', 7, 7)).toBe(1);
    expect(calibratedScore('pca', 1, 1)).toBe(1);
    expect(calibratedScore('combined', 1, 1)).toBe(1);
  });

  it('is a distance in threshold multiples: squared scores by their square root, a z as it is', () => {
    // D² = 4 × threshold is twice as far out; a z of 14 against 7 too.
    expect(calibratedScore('robust-t2', 36, 9)).toBe(2);
    expect(calibratedScore('autoencoder', 1, 4)).toBe(0.5);
    expect(calibratedScore('pca', 4, 1)).toBe(2);
    expect(calibratedScore('adaptive-z', 14, 7)).toBe(2);
    expect(calibratedScore('adaptive-z', 3.5, 7)).toBe(0.5);
    // A combined score is on the scale already (threshold 1).
    expect(calibratedScore('combined', 1.7, 1)).toBe(1.7);
  });
});

describe('combining calibrated scores', () => {
  it('max: the largest, decided by the member that gave it', () => {
    expect(combineCalibrated('max', [0.8, 1.5, 0.3])).toEqual({ score: 1.5, weights: [0, 1, 0] });
    expect(combineCalibrated('max', [0.9, 0.9])).toEqual({ score: 0.9, weights: [1, 0] });
  });

  it('mean: the average, each member weighted by its part of the sum', () => {
    expect(combineCalibrated('mean', [0.9, 0.9])).toEqual({ score: 0.9, weights: [0.5, 0.5] });
    const far = combineCalibrated('mean', [2.5, 0.4]);
    expect(far.score).toBeCloseTo(1.45, 12);
    expect(far.weights[0]).toBeCloseTo(2.5 / 2.9, 12);
    expect(far.weights[1]).toBeCloseTo(0.4 / 2.9, 12);
    expect(combineCalibrated('mean', [0, 0])).toEqual({ score: 0, weights: [0.5, 0.5] });
  });
});

describe('parseKind', () => {
  it('reads one kind, or kinds joined by + with an optional rule', () => {
    expect(parseKind('robust-t2')).toBe('robust-t2');
    expect(parseKind('robust-t2+autoencoder')).toEqual({ members: ['robust-t2', 'autoencoder'], combine: 'max' });
    expect(parseKind('mean:adaptive-z+robust-t2')).toEqual({ members: ['adaptive-z', 'robust-t2'], combine: 'mean' });
  });

  it('refuses unknown kinds, rules, a kind twice and a lone member', () => {
    for (const text of ['forest', 'robust-t2+forest', 'median:robust-t2+autoencoder', 'robust-t2+robust-t2', 'max:robust-t2', '']) {
      expect(() => parseKind(text), text).toThrow(`must be one of autoencoder, robust-t2, adaptive-z, pca; got "${text}"`);
    }
  });
});
