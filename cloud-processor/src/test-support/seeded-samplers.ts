// Seeded random draws for the threshold tests (SPOT, the tail threshold, the online threshold): runs
// repeat exactly, and the distributions are known, so the expected quantiles come from their formulas.

/** Seeded uniform numbers in [0, 1) (mulberry32). */
export function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let r = Math.imul(state ^ (state >>> 15), 1 | state);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded GPD(γ, σ) draws by inverting the CDF: y = (σ/γ)((1 − u)^(−γ) − 1); γ = 0 is Exponential(1/σ). */
export function gpdSampler(seed: number, gamma: number, sigma: number): () => number {
  const u = uniform(seed);
  return () => (gamma === 0 ? -sigma * Math.log(1 - u()) : (sigma / gamma) * ((1 - u()) ** -gamma - 1));
}

/** `count` draws of `next`. */
export const draw = (count: number, next: () => number): number[] => Array.from({ length: count }, next);

/** The standard normal 1 − 1e-3 quantile (tables). */
export const GAUSSIAN_Q3 = 3.090232;
