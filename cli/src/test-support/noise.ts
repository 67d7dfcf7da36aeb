// Seeded noise for the test recordings: runs repeat exactly.

/** Uniform noise in [-0.5, 0.5) from a seeded linear congruential generator. */
export function noiseFrom(seed: number): () => number {
  let state = seed;
  return () => {
    // The product in 32-bit integers: a double would round it (it passes 2⁵³), and the sequence with it.
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 2 ** 31 - 0.5;
  };
}
