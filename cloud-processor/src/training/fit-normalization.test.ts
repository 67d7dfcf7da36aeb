import { describe, expect, it } from 'vitest';
import { normalizeInto } from '../model/normalization.js';
import { gaussian } from '../test-support/synthetic-pump.js';
import { fitNormalization } from './fit-normalization.js';

const rand = gaussian(3);
/** An hour of one pump: speed around 2900 rpm with a 1.35 rpm in-window std; the last fifth stopped. */
const rows = Array.from({ length: 360 }, (_, i) => (i < 288 ? [2900 + 4 * rand(), 1.35 + 0.3 * rand()] : [0, 1.35 + 0.3 * rand()]));
const n = fitNormalization(['speed.mean', 'speed.std'], rows);

function z(raw: number[]): number[] {
  const out = new Float32Array(2);
  normalizeInto(n, raw, 0, out, 0);
  return [...out];
}

describe('fitNormalization', () => {
  it('takes the scale from steady operation even when a stop fills a fifth of the windows', () => {
    expect(n.scale[0]).toBeGreaterThan(2);
    expect(n.scale[0]).toBeLessThan(8);
    expect(z([2900, 1.35])[0]).toBeCloseTo(0, 0);
  });

  it('puts dispersion statistics on a log scale, so a spin-down is tens of σ, not thousands', () => {
    expect(n.logShift).toEqual([null, expect.closeTo(0.1 * 1.55, 1)]);
    const spinDown = z([1500, 800])[1]!;
    expect(spinDown).toBeGreaterThan(5);
    expect(spinDown).toBeLessThanOrEqual(n.zClip);
    // A std of 0 (a quantised, frozen reading) stays finite.
    expect(Number.isFinite(z([2900, 0])[1])).toBe(true);
  });
});
