// The robust per-feature normalisation of a model (normalization.json), applied to every window that is
// scored: dispersion and shape statistics are first put on a log scale, then z = (x - median) / scale,
// clipped to ±zClip. Fitted at training time (training/fit-normalization.ts).

/** Stored as normalization.json. */
export interface Normalization {
  featureNames: string[];
  /** Per feature: null = used as is, a number s = replaced by ln(x + s) before centring and scaling.
   *  Absent in models trained before the log transform existed (read as all null). */
  logShift?: (number | null)[];
  center: number[];
  scale: number[];
  /** Normalised values are clipped to ±zClip. */
  zClip: number;
}

/** ln(x + shift); a (corrupt) negative dispersion reading lands at the floor instead of NaN. */
export function logOf(x: number, shift: number): number {
  return Math.log(Math.max(x, 0) + shift);
}

/** Normalises `d` raw values from `raw[rawOffset..]` into `out[outOffset..]`. */
export function normalizeInto(n: Normalization, raw: ArrayLike<number>, rawOffset: number, out: Float32Array, outOffset: number): void {
  const d = n.center.length;
  for (let j = 0; j < d; j++) {
    const shift = n.logShift?.[j] ?? null;
    const x = raw[rawOffset + j]!;
    const z = ((shift === null ? x : logOf(x, shift)) - n.center[j]!) / n.scale[j]!;
    out[outOffset + j] = Math.max(-n.zClip, Math.min(n.zClip, z));
  }
}
