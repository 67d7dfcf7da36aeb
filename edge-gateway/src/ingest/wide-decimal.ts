// The double nearest to a decimal of 17 to 20 significant digits, which is what JavaScript and Python
// print for most doubles (20.841470984807898): its digits no longer fit a double's 53-bit integer,
// so Clinger's fast path (single-reading-scan.ts) does not apply. Making a string of the bytes for
// Number() costs about three times what this does (measured: a payload's scan ~25 % faster).
//
// The digits are m = head·10^k + tail (head < 2^53, k ≤ 4, so m < 2^67), the number m / 10^p. m
// rounded, divided by 10^p, is within about an ulp of the answer; the exact remainder m − q·10^p, from
// error-free products (Dekker's two-product with Veltkamp's split: JavaScript has no fused
// multiply-add), says how many ulps away the answer is. The remainder's own rounding is some 2^-40 of
// an ulp; when the number lies within 10^-6 ulp of halfway between two doubles (an exact tie: JSON.parse
// rounds it to even), or the answer is across a power of two from q, the result is NaN and the caller
// takes the slow, exact path.

/** Digits after the first 53 bits' worth that `nearestDouble` takes: 10^4 keeps every product exact. */
export const MAX_TAIL_DIGITS = 4;

/** The largest power of ten a double holds exactly (5^22 < 2^53). */
export const MAX_EXACT_POWER = 22;
/** 10^0 to 10^MAX_EXACT_POWER, every one exact. */
export const POWERS_OF_TEN = Array.from({ length: MAX_EXACT_POWER + 1 }, (_, k) => 10 ** k);
/** 2^27 + 1: Veltkamp's constant, splitting a double into two halves of 26 bits. */
const SPLITTER = 134_217_729;
/** How close to a rounding boundary (in ulps) the remainder may come before the answer is left open. */
const MARGIN = 1e-6;

// A double's bits as two 32-bit words (a DataView, or Math.pow for the ulp, tripled the cost).
const double = new Float64Array(1);
const words = new Uint32Array(double.buffer);
const HIGH = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0; // little-endian: the second word
const LOW = 1 - HIGH;

/** The error of the last `twoProduct`: a·b = twoProduct(a, b) + productError, exactly. */
let productError = 0;

function twoProduct(a: number, b: number): number {
  const product = a * b;
  let c = SPLITTER * a;
  const aHigh = c - (c - a);
  const aLow = a - aHigh;
  c = SPLITTER * b;
  const bHigh = c - (c - b);
  const bLow = b - bHigh;
  productError = aHigh * bHigh - product + aHigh * bLow + aLow * bHigh + aLow * bLow;
  return product;
}

/**
 * The double nearest to (head·10^tailDigits + tail) / 10^power, ties to even as JSON.parse rounds, or
 * NaN when it cannot tell cheaply. head < 2^53, tail < 10^tailDigits, tailDigits ≤ MAX_TAIL_DIGITS,
 * power ≤ 22, all non-negative integers, and the digits' integer m at least 2^52: every part below is
 * then an integer or exact, and the quotient a normal double (between 2^52 / 10^22 and 10^21).
 */
export function nearestDouble(head: number, tail: number, tailDigits: number, power: number): number {
  // m = mHigh + mLow exactly (two-product, then a two-sum): integers, the small ones below 2^15.
  const scaled = twoProduct(head, POWERS_OF_TEN[tailDigits]!);
  const mHigh = scaled + tail;
  const mLow = tail - (mHigh - scaled) + productError;
  const divisor = POWERS_OF_TEN[power]!;
  // m rounded once (mHigh alone may be an ulp off it), then divided: within about an ulp of the answer.
  const q = (mHigh + mLow) / divisor;
  // The remainder m − q·divisor: mHigh and the product's rounded part lie within ulps of each other,
  // so their difference is exact (Sterbenz); the small parts add the last bits.
  const qScaled = twoProduct(q, divisor);
  const remainder = mHigh - qScaled + (mLow - productError);
  double[0] = q;
  const exponent = words[HIGH]! & 0x7ff00000;
  // The ulp of q: its exponent less 52 (still a normal double here), mantissa 0.
  words[HIGH] = exponent - (52 << 20);
  words[LOW] = 0;
  const ulp = double[0];
  // The answer is q moved by the remainder, in whole ulps, unless it lies within a hair of halfway.
  const offset = remainder / (divisor * ulp);
  const steps = Math.round(offset);
  const rest = offset - steps;
  if (Math.abs(rest) > 0.5 - MARGIN) return NaN;
  const nearest = q + steps * ulp;
  // Whole ulps hold within q's binade; below its power of two the doubles are twice as dense.
  double[0] = nearest;
  if ((words[HIGH] & 0x7ff00000) !== exponent) return NaN;
  if (rest < 0 && (words[HIGH] & 0xfffff) === 0 && words[LOW] === 0) return NaN;
  return nearest;
}
