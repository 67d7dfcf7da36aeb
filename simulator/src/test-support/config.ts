// A small, fast simulation config for tests: a few machines, minutes of virtual time, low vibration
// rate, run flat out.
import { noChaos } from '../chaos/options.js';
import type { ChaosOptions } from '../chaos/options.js';
import { fleetFromMix } from '../fleet/fleet.js';
import type { SimulationConfig } from '../run/simulation.js';
import { START } from './series.js';

export function testConfig(over: Partial<SimulationConfig> & { chaosOver?: Partial<ChaosOptions> } = {}): SimulationConfig {
  const { chaosOver, ...rest } = over;
  return {
    seed: 5,
    startMs: START,
    durationMs: 120_000,
    tickMs: 1000,
    vibrationHz: 100,
    machines: fleetFromMix(4, { pump: 1, motor: 1, fan: 1, compressor: 1 }),
    faults: [],
    chaos: { ...noChaos(), ...chaosOver },
    speed: Number.POSITIVE_INFINITY,
    rate: Number.POSITIVE_INFINITY,
    ...rest,
  };
}
