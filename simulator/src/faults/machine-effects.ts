// How each mechanical/process fault changes the physics at progression s ∈ [0, 1). Shapes follow the
// textbook signatures: imbalance and misalignment step up at onset and grow (1×, 2× shaft order);
// bearing wear first raises broadband noise, then adds impacts at the defect frequency (kurtosis),
// then everything grows fast near failure; overheating drifts temperature up whatever the load;
// cavitation makes pressure and flow noisy and pulls pressure down.
import type { FaultPlan } from './catalogue.js';
import { progression } from './catalogue.js';

export interface MachineEffects {
  /** Added peak g on the 1× and 2× shaft components. */
  oneXG: number;
  twoXG: number;
  /** Added broadband vibration (g RMS). */
  noiseG: number;
  /** Peak g of bearing-defect impacts, and the share of defect passes that produce one. */
  impactG: number;
  impactShare: number;
  /** Bearing temperature offset (°C) beyond what load explains. */
  tempC: number;
  /** Pressure/flow noise as a fraction of rated, and a fractional pressure drop. */
  fluidNoise: number;
  pressureDrop: number;
  /** Between failure and recovery the machine is down for repair. */
  down: boolean;
}

export function healthyEffects(): MachineEffects {
  return {
    oneXG: 0,
    twoXG: 0,
    noiseG: 0,
    impactG: 0,
    impactShare: 0,
    tempC: 0,
    fluidNoise: 0,
    pressureDrop: 0,
    down: false,
  };
}

/** Sum of the effects of every machine fault active at `ts` (sensor faults act on readings instead). */
export function machineEffects(plans: readonly FaultPlan[], ts: number): MachineEffects {
  const e = healthyEffects();
  for (const plan of plans) {
    if (ts >= plan.failure && ts < plan.recovered) e.down = true;
    const s = progression(plan, ts);
    if (s === undefined) continue;
    switch (plan.fault) {
      case 'bearing_wear':
        e.noiseG += 0.02 + 0.25 * s ** 2;
        // Impacts appear after the first quarter of the life and sharpen towards failure.
        if (s > 0.25) {
          e.impactG += 0.4 + 2.6 * ((s - 0.25) / 0.75) ** 1.5;
          e.impactShare = Math.max(e.impactShare, 0.15 + 0.5 * s);
        }
        e.tempC += 10 * s ** 3;
        break;
      case 'imbalance':
        e.oneXG += 0.18 + 0.3 * s;
        break;
      case 'misalignment':
        e.twoXG += 0.12 + 0.2 * s;
        e.tempC += 4 * s;
        break;
      case 'overheating':
        e.tempC += 6 + 24 * s;
        break;
      case 'cavitation':
        e.fluidNoise += 0.03 + 0.1 * s;
        e.pressureDrop += 0.05 + 0.1 * s;
        e.noiseG += 0.04 + 0.08 * s;
        break;
      default:
        // Sensor faults change readings, not the machine (see sensor-effects.ts).
        break;
    }
  }
  return e;
}
