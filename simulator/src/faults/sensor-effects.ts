// Sensor faults act on the reading a transmitter reports, after the physics: the machine is fine,
// the measurement is not. One instance per machine holds the state a stuck sensor needs.
import type { LowRateSensor } from '../fleet/machine-types.js';
import type { Rng } from '../random/prng.js';
import type { FaultPlan } from './catalogue.js';
import { isSensorFault, progression } from './catalogue.js';

export class SensorFaults {
  /** Value a stuck sensor froze at, per plan. */
  private readonly frozen = new Map<FaultPlan, number>();

  constructor(
    private readonly plans: readonly FaultPlan[],
    private readonly rng: Rng,
  ) {}

  /** The reading `sensor` reports at `ts` for true value `value`; undefined = nothing sent. */
  apply(sensor: LowRateSensor, value: number, ts: number): number | undefined {
    let reported: number | undefined = value;
    for (const plan of this.plans) {
      if (!isSensorFault(plan.fault) || plan.sensors[0] !== sensor) continue;
      const s = progression(plan, ts);
      if (s === undefined || reported === undefined) continue;
      switch (plan.fault) {
        case 'sensor_stuck': {
          const held: number = this.frozen.get(plan) ?? reported;
          this.frozen.set(plan, held);
          reported = held;
          break;
        }
        case 'sensor_dropout':
          // Intermittent at first (loose connector), then mostly gone.
          if (this.rng.chance(0.3 + 0.65 * s)) reported = undefined;
          break;
        case 'sensor_spikes':
          if (this.rng.chance(0.03 + 0.12 * s)) {
            const sign = this.rng.chance(0.5) ? 1 : -1;
            reported = reported + sign * Math.max(Math.abs(reported), 1) * this.rng.uniform(0.5, 1.5);
          }
          break;
        case 'sensor_drift':
          // Calibration drift: a growing gain error.
          reported = reported * (1 + 0.25 * s);
          break;
      }
    }
    return reported;
  }
}
