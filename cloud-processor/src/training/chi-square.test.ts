import { describe, expect, it } from 'vitest';
import { chiSquareSurvival, chiSquareUpperQuantile, lnGamma } from './chi-square.js';

describe('chi-square quantiles', () => {
  // Upper-tail critical values as printed in the NIST/SEMATECH e-Handbook, table 1.3.6.7.4 (3 decimals).
  const table: [p: number, dof: number, value: number][] = [
    [0.001, 1, 10.828],
    [0.001, 6, 22.458],
    [0.001, 10, 29.588],
    [0.001, 16, 39.252],
    [0.001, 30, 59.703],
    [0.01, 20, 37.566],
    [0.025, 10, 20.483],
    [0.025, 16, 28.845],
    [0.05, 5, 11.07],
    [0.5, 16, 15.338],
    [0.975, 10, 3.247],
  ];
  it.each(table)('P(X > x) = %f with %i dof at x = %f', (p, dof, value) => {
    expect(chiSquareUpperQuantile(p, dof)).toBeCloseTo(value, 2);
    expect(Math.abs(chiSquareUpperQuantile(p, dof) - value)).toBeLessThan(6e-4);
  });

  it('matches the closed forms of 2 dof (exponential) and ln Γ at integers', () => {
    for (const p of [0.5, 1e-3, 1e-6]) expect(chiSquareUpperQuantile(p, 2)).toBeCloseTo(-2 * Math.log(p), 8);
    expect(chiSquareSurvival(3, 2)).toBeCloseTo(Math.exp(-1.5), 12);
    expect(lnGamma(10)).toBeCloseTo(Math.log(362_880), 10);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });

  it('refuses probabilities outside (0, 1)', () => {
    expect(() => chiSquareUpperQuantile(0, 3)).toThrow(/0 < p < 1/);
    expect(() => chiSquareUpperQuantile(1, 3)).toThrow(/0 < p < 1/);
  });
});
