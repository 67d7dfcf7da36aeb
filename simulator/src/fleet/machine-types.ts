// The four machine types and the nominal physics of each. Numbers are plausible plant values (a
// 30 kW process pump, a 55 kW motor on a conveyor, a 15 kW ventilation fan, a 75 kW screw compressor),
// chosen so every sensor moves in a realistic range and the sensors of one machine stay consistent.

export const MACHINE_TYPES = ['pump', 'motor', 'fan', 'compressor'] as const;
export type MachineType = (typeof MACHINE_TYPES)[number];

/** Low-rate sensors sample once per tick; `vibration` is the one high-rate sensor, sent as blocks. */
export const LOW_RATE_SENSORS = ['bearing_temp', 'current', 'pressure', 'flow', 'speed'] as const;
export type LowRateSensor = (typeof LOW_RATE_SENSORS)[number];
export const VIBRATION = 'vibration';
export type SensorId = LowRateSensor | typeof VIBRATION;

export interface MachineTypeSpec {
  /** Low-rate sensors this type carries, in CSV column order. Every type also has vibration. */
  sensors: readonly LowRateSensor[];
  ratedSpeedRpm: number;
  /** `fixed`: induction motor on the grid, speed sags with load (slip). `variable`: VFD follows load. */
  speedControl: 'fixed' | 'variable';
  noLoadCurrentA: number;
  ratedCurrentA: number;
  /** Bearing temperature rise over ambient at rated current, and its thermal time constant. */
  bearingRiseC: number;
  thermalTauS: number;
  /** Discharge pressure (bar) and flow (m³/h, or thousand m³/h of air for fans) at rated point. */
  ratedPressureBar: number;
  ratedFlow: number;
  /** Long-run load range the operating regime draws set-points from (fraction of rated). */
  loadRange: readonly [number, number];
  vibration: {
    /** Peak acceleration (g) of the 1× (shaft speed) and 2× components on a healthy machine. */
    oneXG: number;
    twoXG: number;
    /** Broadband noise (g RMS): bearings, flow, structure. */
    noiseG: number;
    /** Outer-race defect frequency as a multiple of shaft speed (BPFO order). */
    bearingDefectOrder: number;
  };
}

export const MACHINE_SPECS: Record<MachineType, MachineTypeSpec> = {
  pump: {
    sensors: ['bearing_temp', 'current', 'pressure', 'flow', 'speed'],
    ratedSpeedRpm: 2950,
    speedControl: 'fixed',
    noLoadCurrentA: 18,
    ratedCurrentA: 56,
    bearingRiseC: 28,
    thermalTauS: 900,
    ratedPressureBar: 6,
    ratedFlow: 120,
    loadRange: [0.55, 0.95],
    vibration: { oneXG: 0.12, twoXG: 0.04, noiseG: 0.05, bearingDefectOrder: 3.57 },
  },
  motor: {
    sensors: ['bearing_temp', 'current', 'speed'],
    ratedSpeedRpm: 1480,
    speedControl: 'fixed',
    noLoadCurrentA: 30,
    ratedCurrentA: 100,
    bearingRiseC: 32,
    thermalTauS: 1200,
    ratedPressureBar: 0,
    ratedFlow: 0,
    loadRange: [0.4, 0.9],
    vibration: { oneXG: 0.08, twoXG: 0.03, noiseG: 0.04, bearingDefectOrder: 3.05 },
  },
  fan: {
    sensors: ['bearing_temp', 'current', 'flow', 'speed'],
    ratedSpeedRpm: 980,
    speedControl: 'variable',
    noLoadCurrentA: 8,
    ratedCurrentA: 28,
    bearingRiseC: 20,
    thermalTauS: 700,
    ratedPressureBar: 0,
    ratedFlow: 45,
    loadRange: [0.5, 1.0],
    vibration: { oneXG: 0.1, twoXG: 0.02, noiseG: 0.03, bearingDefectOrder: 4.1 },
  },
  compressor: {
    sensors: ['bearing_temp', 'current', 'pressure', 'flow', 'speed'],
    ratedSpeedRpm: 2970,
    speedControl: 'variable',
    noLoadCurrentA: 45,
    ratedCurrentA: 135,
    bearingRiseC: 38,
    thermalTauS: 1500,
    ratedPressureBar: 8,
    ratedFlow: 720,
    loadRange: [0.5, 1.0],
    vibration: { oneXG: 0.15, twoXG: 0.06, noiseG: 0.07, bearingDefectOrder: 4.7 },
  },
};

/** Measurement noise (1 σ) and resolution of each low-rate sensor, as a real transmitter reports. */
export const SENSOR_NOISE: Record<LowRateSensor, { sigma: (spec: MachineTypeSpec) => number; resolution: number }> = {
  bearing_temp: { sigma: () => 0.15, resolution: 0.01 },
  current: { sigma: (s) => 0.008 * s.ratedCurrentA, resolution: 0.01 },
  pressure: { sigma: (s) => 0.006 * s.ratedPressureBar, resolution: 0.001 },
  flow: { sigma: (s) => 0.01 * s.ratedFlow, resolution: 0.01 },
  speed: { sigma: (s) => 0.0005 * s.ratedSpeedRpm, resolution: 0.1 },
};

/** Accelerometer resolution (g): keeps payloads short without hiding anything a model could use. */
export const VIBRATION_RESOLUTION_G = 1e-4;
