// The fault kinds the simulator can inject: which machines they fit, which sensors show them, and how
// long they typically take from onset to failure (drawn uniformly in that range when scheduled at random).
import type { LowRateSensor, MachineType, SensorId } from '../fleet/machine-types.js';
import { MACHINE_SPECS, VIBRATION } from '../fleet/machine-types.js';

export const FAULT_KINDS = [
  'bearing_wear',
  'imbalance',
  'misalignment',
  'overheating',
  'cavitation',
  'sensor_stuck',
  'sensor_dropout',
  'sensor_spikes',
  'sensor_drift',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const SENSOR_FAULT_KINDS = ['sensor_stuck', 'sensor_dropout', 'sensor_spikes', 'sensor_drift'] as const;
export type SensorFaultKind = (typeof SENSOR_FAULT_KINDS)[number];

export function isSensorFault(kind: FaultKind): kind is SensorFaultKind {
  return (SENSOR_FAULT_KINDS as readonly FaultKind[]).includes(kind);
}

const HOUR_MS = 3_600_000;

interface FaultKindInfo {
  /** Sensors a model could see it in (for a sensor fault: the faulty sensor, chosen per fault). */
  sensors: (type: MachineType) => SensorId[];
  applies: (type: MachineType) => boolean;
  /** Onset → failure, ms. */
  typicalDuration: readonly [number, number];
}

const hasFluid = (type: MachineType) => MACHINE_SPECS[type].sensors.includes('pressure');

export const FAULT_CATALOGUE: Record<FaultKind, FaultKindInfo> = {
  bearing_wear: {
    sensors: () => [VIBRATION, 'bearing_temp'],
    applies: () => true,
    typicalDuration: [12 * HOUR_MS, 72 * HOUR_MS],
  },
  imbalance: { sensors: () => [VIBRATION], applies: () => true, typicalDuration: [6 * HOUR_MS, 48 * HOUR_MS] },
  misalignment: {
    sensors: () => [VIBRATION, 'bearing_temp'],
    applies: () => true,
    typicalDuration: [6 * HOUR_MS, 48 * HOUR_MS],
  },
  overheating: { sensors: () => ['bearing_temp'], applies: () => true, typicalDuration: [2 * HOUR_MS, 12 * HOUR_MS] },
  // Cavitation needs a liquid: pumps; compressors carry pressure/flow too but surge is another story.
  cavitation: {
    sensors: () => ['pressure', 'flow', VIBRATION],
    applies: (type) => type === 'pump' && hasFluid(type),
    typicalDuration: [1 * HOUR_MS, 6 * HOUR_MS],
  },
  sensor_stuck: { sensors: () => [], applies: () => true, typicalDuration: [0.5 * HOUR_MS, 6 * HOUR_MS] },
  sensor_dropout: { sensors: () => [], applies: () => true, typicalDuration: [0.5 * HOUR_MS, 6 * HOUR_MS] },
  sensor_spikes: { sensors: () => [], applies: () => true, typicalDuration: [0.5 * HOUR_MS, 6 * HOUR_MS] },
  sensor_drift: { sensors: () => [], applies: () => true, typicalDuration: [2 * HOUR_MS, 24 * HOUR_MS] },
};

/** A scheduled fault: the ground truth of one labelled event. */
export interface FaultPlan {
  machine: string;
  fault: FaultKind;
  /** Epoch ms: first sign, failure (end of progression), back to healthy (after repair). */
  onset: number;
  failure: number;
  recovered: number;
  sensors: SensorId[];
}

/** The sensors a fault shows in; a sensor fault names its one faulty sensor. */
export function affectedSensors(kind: FaultKind, type: MachineType, faultySensor?: LowRateSensor): SensorId[] {
  if (isSensorFault(kind)) {
    if (!faultySensor) throw new Error(`${kind} needs the sensor it affects`);
    return [faultySensor];
  }
  return FAULT_CATALOGUE[kind].sensors(type);
}

/** 0 before onset, rising to 1 at failure; undefined when the fault is not active at `ts`. */
export function progression(plan: FaultPlan, ts: number): number | undefined {
  if (ts < plan.onset || ts >= plan.failure) return undefined;
  return (ts - plan.onset) / (plan.failure - plan.onset);
}
