// Synthesises an accelerometer block: 1× and 2× shaft-order sinusoids, broadband noise, and
// bearing-defect impacts that ring at a structural resonance and decay. Phase carries over between
// blocks, so consecutive blocks join into one continuous signal.
import { VIBRATION_RESOLUTION_G } from './machine-types.js';
import { quantize } from './quantize.js';
import type { Rng } from '../random/prng.js';

export interface VibrationParams {
  shaftHz: number;
  oneXG: number;
  twoXG: number;
  noiseG: number;
  impactG: number;
  /** Share of bearing-defect passes that hit (sparse hits make the signal impulsive). */
  impactShare: number;
  defectOrder: number;
}

/** Structural resonance the impacts excite, as a share of the sample rate (kept below Nyquist). */
const RESONANCE_SHARE = 0.23;
/** Ringing decay time constant (s). */
const RING_TAU_S = 0.0015;

export class VibrationSynth {
  private shaftPhase: number;
  private readonly twoXOffset: number;
  private sinceDefect = 0;
  private ringAmp = 0;
  private ringPhase = 0;

  constructor(private readonly rng: Rng) {
    this.shaftPhase = rng.uniform(0, 2 * Math.PI);
    this.twoXOffset = rng.uniform(0, 2 * Math.PI);
  }

  block(samples: number, hz: number, p: VibrationParams): Float64Array {
    const out = new Float64Array(samples);
    const rng = this.rng;
    const dPhase = (2 * Math.PI * p.shaftHz) / hz;
    const cos2Off = Math.cos(this.twoXOffset);
    const sin2Off = Math.sin(this.twoXOffset);
    const defectPeriod = p.impactG > 0 && p.shaftHz > 0 ? hz / (p.defectOrder * p.shaftHz) : Infinity;
    const ringDecay = Math.exp(-1 / (RING_TAU_S * hz));
    const ringStep = 2 * Math.PI * RESONANCE_SHARE;
    let phase = this.shaftPhase;
    for (let i = 0; i < samples; i++) {
      const s1 = Math.sin(phase);
      const c1 = Math.cos(phase);
      // sin(2φ + off) from sin φ, cos φ: one pair of trig calls per sample instead of two.
      const sin2 = 2 * s1 * c1;
      const cos2 = c1 * c1 - s1 * s1;
      let x = p.oneXG * s1 + p.twoXG * (sin2 * cos2Off + cos2 * sin2Off) + p.noiseG * rng.normal();
      if (++this.sinceDefect >= defectPeriod) {
        this.sinceDefect -= defectPeriod;
        if (rng.chance(p.impactShare)) this.ringAmp += p.impactG * (0.7 + 0.6 * rng.next());
      }
      if (this.ringAmp > 1e-4) {
        x += this.ringAmp * Math.sin(this.ringPhase);
        this.ringPhase += ringStep;
        this.ringAmp *= ringDecay;
      }
      out[i] = quantize(x, VIBRATION_RESOLUTION_G);
      phase += dPhase;
    }
    this.shaftPhase = phase % (2 * Math.PI);
    return out;
  }
}
