// One simulated machine: advances its physical state one tick at a time and reports what its sensors
// read. Load drives current instantly and bearing temperature through a first-order thermal lag;
// pressure and flow follow the affinity laws; faults bend the physics (machine faults) or the
// readings (sensor faults). Every random draw comes from this machine's own streams.
import { SIMULATOR_DEFAULTS } from '../defaults.js';
import type { FaultPlan } from '../faults/catalogue.js';
import { machineEffects } from '../faults/machine-effects.js';
import { SensorFaults } from '../faults/sensor-effects.js';
import { Rng } from '../random/prng.js';
import type { LowRateSensor, MachineType, MachineTypeSpec } from './machine-types.js';
import { MACHINE_SPECS, SENSOR_NOISE } from './machine-types.js';
import { quantize } from './quantize.js';
import { OperatingRegime, type RegimeParams, dailyFactor } from './regime.js';
import { VibrationSynth } from './vibration.js';

export interface MachineTick {
  machine: string;
  ts: number;
  /** Reported low-rate readings; a sensor that sent nothing (drop-out) is absent. */
  values: Partial<Record<LowRateSensor, number>>;
  /** Vibration block sampled at `vibrationHz` from `ts`. */
  vibration: Float64Array;
  vibrationHz: number;
  /** True physical load (fraction of rated), for tests and labels; never sent. */
  load: number;
  running: boolean;
}

export interface MachineOptions {
  id: string;
  type: MachineType;
  seed: number;
  startMs: number;
  tickMs: number;
  vibrationHz: number;
  faults: readonly FaultPlan[];
  regime?: RegimeParams;
}

export class Machine {
  readonly id: string;
  readonly type: MachineType;
  readonly spec: MachineTypeSpec;
  private readonly regime: OperatingRegime;
  private readonly params: RegimeParams;
  private readonly noise: Rng;
  private readonly vibration: VibrationSynth;
  private readonly sensorFaults: SensorFaults;
  private readonly faults: readonly FaultPlan[];
  private readonly dtS: number;
  private readonly samplesPerTick: number;
  private readonly vibrationHz: number;
  private load: number;
  private spin = 1;
  private bearingC: number;

  constructor(o: MachineOptions) {
    this.id = o.id;
    this.type = o.type;
    this.spec = MACHINE_SPECS[o.type];
    this.params = o.regime ?? SIMULATOR_DEFAULTS.regime;
    this.faults = o.faults;
    this.regime = new OperatingRegime(new Rng(o.seed, o.id, 'regime'), this.spec.loadRange, this.params, o.startMs);
    this.noise = new Rng(o.seed, o.id, 'noise');
    this.vibration = new VibrationSynth(new Rng(o.seed, o.id, 'vibration'));
    this.sensorFaults = new SensorFaults(o.faults, new Rng(o.seed, o.id, 'sensor-faults'));
    this.dtS = o.tickMs / 1000;
    this.vibrationHz = o.vibrationHz;
    this.samplesPerTick = Math.max(1, Math.round((o.vibrationHz * o.tickMs) / 1000));
    // Start in thermal steady state at the first set-point, so the run opens without a warm-up ramp.
    const first = this.regime.step(o.startMs);
    this.load = first.setpoint;
    this.bearingC = this.thermalTarget(o.startMs, this.currentA(this.load, 1), 1, 0);
  }

  step(ts: number): MachineTick {
    const spec = this.spec;
    const effects = machineEffects(this.faults, ts);
    const regime = this.regime.step(ts);
    const running = regime.running && !effects.down;
    const setpoint = running ? regime.setpoint : 0;
    this.load += (setpoint - this.load) * (1 - Math.exp(-this.dtS / this.params.loadTauS));
    this.spin += ((running ? 1 : 0) - this.spin) * (1 - Math.exp(-this.dtS / this.params.spinTauS));
    const load = this.load;

    const speedShare =
      spec.speedControl === 'fixed' ? this.spin * (1 - this.params.ratedSlip * load) : this.spin * (0.5 + 0.5 * load);
    const rpm = spec.ratedSpeedRpm * speedShare;
    const current = this.currentA(load, this.spin);
    const target = this.thermalTarget(ts, current, this.spin, effects.tempC);
    this.bearingC += (target - this.bearingC) * (1 - Math.exp(-this.dtS / spec.thermalTauS));

    // Affinity laws: flow ∝ speed (throttled by load), head ∝ speed² and falls along the pump curve.
    const flowShare = load * speedShare;
    const fluid = () => effects.fluidNoise * this.noise.normal();
    const physical: Record<LowRateSensor, number> = {
      bearing_temp: this.bearingC,
      current,
      pressure:
        spec.ratedPressureBar * (speedShare ** 2 * (1.15 - 0.15 * flowShare ** 2) * (1 - effects.pressureDrop) + fluid()),
      flow: spec.ratedFlow * Math.max(0, flowShare + fluid()),
      speed: rpm,
    };

    const values: Partial<Record<LowRateSensor, number>> = {};
    for (const sensor of spec.sensors) {
      const noise = SENSOR_NOISE[sensor];
      const measured = physical[sensor] + noise.sigma(spec) * this.noise.normal();
      const reported = this.sensorFaults.apply(sensor, measured, ts);
      if (reported !== undefined) values[sensor] = quantize(reported, noise.resolution);
    }

    const v = spec.vibration;
    // Shaft components grow with speed² (centrifugal force); flow/structure noise grows with load.
    const shaft = speedShare ** 2;
    const vibration = this.vibration.block(this.samplesPerTick, this.vibrationHz, {
      shaftHz: rpm / 60,
      oneXG: (v.oneXG * (0.6 + 0.4 * load) + effects.oneXG) * shaft,
      twoXG: (v.twoXG + effects.twoXG) * shaft,
      noiseG: 0.004 + (v.noiseG * (0.7 + 0.3 * load) + effects.noiseG) * this.spin,
      impactG: effects.impactG * shaft,
      impactShare: effects.impactShare,
      defectOrder: v.bearingDefectOrder,
    });
    return { machine: this.id, ts, values, vibration, vibrationHz: this.vibrationHz, load, running };
  }

  private currentA(load: number, spin: number): number {
    return spin * (this.spec.noLoadCurrentA + (this.spec.ratedCurrentA - this.spec.noLoadCurrentA) * load);
  }

  /** Steady bearing temperature: ambient + copper losses (∝ I²) + friction (∝ speed) + fault heat. */
  private thermalTarget(ts: number, current: number, spin: number, faultC: number): number {
    const p = this.params;
    const ambient = p.ambientC + p.ambientSwingC * (dailyFactor(ts, 1) - 1);
    const rise = this.spec.bearingRiseC;
    return ambient + rise * (0.6 * (current / this.spec.ratedCurrentA) ** 2 + 0.4 * spin) + faultC;
  }
}
