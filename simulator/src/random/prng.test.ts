import { describe, expect, it } from 'vitest';
import { Rng } from './prng.js';

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.nextU32());

describe('Rng', () => {
  it('repeats the same sequence for the same seed and labels', () => {
    expect(draw(new Rng(7, 'pump-0001', 'noise'), 1000)).toEqual(draw(new Rng(7, 'pump-0001', 'noise'), 1000));
  });

  it('gives different sequences for a different seed, label or a seed above 2^32', () => {
    const base = draw(new Rng(7, 'a'), 50);
    expect(draw(new Rng(8, 'a'), 50)).not.toEqual(base);
    expect(draw(new Rng(7, 'b'), 50)).not.toEqual(base);
    expect(draw(new Rng(7 + 2 ** 32, 'a'), 50)).not.toEqual(base);
  });

  it('draws uniforms in [0, 1) and standard normals with the right moments', () => {
    const rng = new Rng(1);
    const n = 200_000;
    let sum = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      sum += u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(sum / n).toBeCloseTo(0.5, 2);

    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      s1 += z;
      s2 += z * z;
    }
    expect(s1 / n).toBeCloseTo(0, 1);
    expect(s2 / n).toBeCloseTo(1, 1);
  });
});
