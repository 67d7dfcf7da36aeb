// Operating regime of one machine: when it runs, at what load set-point. Set-points change as a
// Poisson process (operators, process demand), stops come and go, and production follows the day.
import type { SIMULATOR_DEFAULTS } from '../defaults.js';
import type { Rng } from '../random/prng.js';

export type RegimeParams = typeof SIMULATOR_DEFAULTS.regime;

const DAY_MS = 86_400_000;

/** Fraction of the day (UTC) → factor in [1 - swing, 1 + swing], highest at 15:00, lowest at 03:00. */
export function dailyFactor(ts: number, swing: number): number {
  const hour = ((ts % DAY_MS) / DAY_MS) * 24;
  return 1 + swing * Math.sin((2 * Math.PI * (hour - 9)) / 24);
}

export interface RegimeState {
  running: boolean;
  /** Load set-point as a fraction of rated, already shaped by the daily cycle; 0 when stopped. */
  setpoint: number;
}

export class OperatingRegime {
  private running = true;
  private baseLoad: number;
  private nextLoadChange: number;
  private nextStopToggle: number;

  constructor(
    private readonly rng: Rng,
    private readonly loadRange: readonly [number, number],
    private readonly params: RegimeParams,
    startMs: number,
  ) {
    this.baseLoad = rng.uniform(loadRange[0], loadRange[1]);
    this.nextLoadChange = startMs + rng.exponential(params.meanLoadChangeS) * 1000;
    this.nextStopToggle = startMs + rng.exponential(params.meanRunBetweenStopsS) * 1000;
  }

  step(ts: number): RegimeState {
    while (ts >= this.nextLoadChange) {
      this.baseLoad = this.rng.uniform(this.loadRange[0], this.loadRange[1]);
      this.nextLoadChange += this.rng.exponential(this.params.meanLoadChangeS) * 1000;
    }
    while (ts >= this.nextStopToggle) {
      this.running = !this.running;
      const meanS = this.running ? this.params.meanRunBetweenStopsS : this.params.meanStopS;
      const minS = this.running ? 0 : this.params.minStopS;
      this.nextStopToggle += (minS + this.rng.exponential(meanS)) * 1000;
    }
    if (!this.running) return { running: false, setpoint: 0 };
    const setpoint = Math.min(1.05, this.baseLoad * dailyFactor(ts, this.params.dailyLoadSwing));
    return { running: true, setpoint };
  }
}
