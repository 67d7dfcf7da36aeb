// The two-pass reference statistics live in @pdm/proto/testing, shared with the processor's tests.
export { twoPassStatistics } from '@pdm/proto/testing';

/** A small deterministic PRNG (mulberry32) so adversarial data is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
