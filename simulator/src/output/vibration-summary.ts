// Per-row summary of a vibration block for 1 Hz files: what condition monitoring reads off a
// waveform. RMS tracks energy (imbalance, wear), peak and kurtosis track impacts (bearing defects).
// Kurtosis is Pearson's (a Gaussian scores 3), about the block mean.

export interface VibrationSummary {
  rms: number;
  peak: number;
  kurtosis: number;
}

export function summariseVibration(block: ArrayLike<number>): VibrationSummary {
  const n = block.length;
  if (n === 0) return { rms: Number.NaN, peak: Number.NaN, kurtosis: Number.NaN };
  let sum = 0;
  let sumSq = 0;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const x = block[i] ?? 0;
    sum += x;
    sumSq += x * x;
    if (Math.abs(x) > peak) peak = Math.abs(x);
  }
  const mean = sum / n;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = (block[i] ?? 0) - mean;
    const d2 = d * d;
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= n;
  m4 /= n;
  return { rms: Math.sqrt(sumSq / n), peak, kurtosis: m2 > 0 ? m4 / (m2 * m2) : Number.NaN };
}
