import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TAIL_DIGITS, nearestDouble } from './wide-decimal.js';

/** The decimal `digits` with `power` of them after the point, as nearestDouble takes it: head below 2^53, then up to 4 more. */
function split(digits: string): { head: number; tail: number; tailDigits: number } | undefined {
  for (let headDigits = digits.length; headDigits > 0; headDigits--) {
    const head = Number(digits.slice(0, headDigits));
    const tailDigits = digits.length - headDigits;
    if (head < 2 ** 53 && tailDigits > 0 && tailDigits <= MAX_TAIL_DIGITS && head * 10 + Number(digits[headDigits]) >= 2 ** 53) {
      return { head, tail: Number(digits.slice(headDigits)), tailDigits };
    }
  }
  return undefined;
}

/** The JSON text of the integer `digits` with `power` digits after the decimal point. */
function text(digits: string, power: number): string {
  const padded = digits.padStart(power + 1, '0');
  return power === 0 ? padded : `${padded.slice(0, -power)}.${padded.slice(-power)}`;
}

describe('nearestDouble', () => {
  it('gives the double JSON.parse gives, for 17 to 20 significant digits at any decimal point', () => {
    let decided = 0;
    fc.assert(
      // Every mantissa the scan passes (head below 2^53, then up to 4 digits: 12345678901234567890).
      // Unbiased: fast-check otherwise favours 2^53 + a little, where every odd integer is a tie.
      fc.property(fc.noBias(fc.bigInt({ min: 2n ** 53n, max: 2n ** 53n * 10_000n - 1n })), fc.integer({ min: 0, max: 22 }), (m, power) => {
        const digits = m.toString();
        const parts = split(digits);
        if (parts === undefined) return;
        const nearest = nearestDouble(parts.head, parts.tail, parts.tailDigits, power);
        if (Number.isNaN(nearest)) return;
        decided++;
        expect(nearest, text(digits, power)).toBe(JSON.parse(text(digits, power)) as number);
      }),
      { numRuns: 50_000, seed: 20261206 },
    );
    // The slow path is for near-ties, which random digits seldom are (a large integer is an exact tie
    // about once per ulp: 1 in 64 at 10^17).
    expect(decided).toBeGreaterThan(49_900);
  });

  it('gives the double JSON.parse gives for the 17 digits JavaScript prints of doubles', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e15, noNaN: true }), (x) => {
        const printed = JSON.stringify(x);
        const match = /^(\d+)(?:\.(\d+))?$/.exec(printed);
        if (match === null) return;
        const digits = `${match[1]}${match[2] ?? ''}`.replace(/^0+/, '');
        const parts = split(digits);
        if (parts === undefined) return;
        const nearest = nearestDouble(parts.head, parts.tail, parts.tailDigits, match[2]?.length ?? 0);
        expect(nearest, printed).toBe(x);
      }),
      { numRuns: 20_000, seed: 7 },
    );
  });

  it('leaves exact ties between two doubles open (NaN) and rounds just off them the way JSON.parse does', () => {
    // 2^53 + 1 and 2^52 + ½ lie halfway between two doubles (JSON.parse: ties to even).
    expect(nearestDouble(900719925474099, 3, 1, 0)).toBeNaN();
    expect(nearestDouble(450359962737049, 65, 2, 1)).toBeNaN();
    // One unit in the 19th digit off a tie decides it.
    for (const [digits, power] of [['4503599627370496501', 3], ['4503599627370496499', 3], ['9007199254740993001', 3]] as const) {
      const parts = split(digits)!;
      expect(nearestDouble(parts.head, parts.tail, parts.tailDigits, power), text(digits, power)).toBe(JSON.parse(text(digits, power)) as number);
    }
  });
});
