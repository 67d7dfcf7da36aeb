// Seeded noise for the test recordings: runs repeat exactly.

/** Uniform noise in [-0.5, 0.5) from a seeded linear congruential generator. */
export function noiseFrom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
}
