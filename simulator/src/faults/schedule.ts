// Turns the fault section of a config into concrete FaultPlans: explicit faults as given (checked
// against the fleet), plus random ones drawn from a seeded stream per machine. Random faults start
// after the healthy prefix and are fitted to end (fail) inside the run whenever their length allows.
import { ConfigError } from '../config/config-error.js';
import type { LowRateSensor, MachineType } from '../fleet/machine-types.js';
import { MACHINE_SPECS } from '../fleet/machine-types.js';
import { Rng } from '../random/prng.js';
import type { FaultKind, FaultPlan } from './catalogue.js';
import { FAULT_CATALOGUE, affectedSensors, isSensorFault } from './catalogue.js';

export interface MachineSpecEntry {
  id: string;
  type: MachineType;
}

export interface ExplicitFault {
  machine: string;
  fault: FaultKind;
  onset: number;
  failure: number;
  /** The faulty sensor, for sensor faults. */
  sensor?: LowRateSensor | undefined;
}

export interface RandomFaults {
  /** Chance that a machine develops one fault during the run. */
  probability: number;
  kinds: readonly FaultKind[];
  /** Share of the run kept healthy before any random onset. */
  healthyFraction: number;
}

export interface FaultScheduleInput {
  seed: number;
  startMs: number;
  durationMs: number;
  repairMs: number;
  machines: readonly MachineSpecEntry[];
  explicit: readonly ExplicitFault[];
  random?: RandomFaults | undefined;
}

export function scheduleFaults(input: FaultScheduleInput): FaultPlan[] {
  const types = new Map(input.machines.map((m) => [m.id, m.type]));
  const plans = input.explicit.map((fault, i) => explicitPlan(fault, i, types, input.repairMs));
  if (input.random && input.random.probability > 0) {
    for (const machine of input.machines) {
      const plan = randomPlan(machine, input, input.random);
      if (plan && !plans.some((p) => p.machine === plan.machine && overlaps(p, plan))) plans.push(plan);
    }
  }
  return plans.sort((a, b) => a.onset - b.onset || a.machine.localeCompare(b.machine));
}

function recoveredAt(fault: FaultKind, failure: number, repairMs: number): number {
  // A failed sensor is swapped without stopping the machine; a failed machine is down for repair.
  return isSensorFault(fault) ? failure : failure + repairMs;
}

function explicitPlan(
  f: ExplicitFault,
  index: number,
  types: Map<string, MachineType>,
  repairMs: number,
): FaultPlan {
  const at = `faults.scheduled[${index}]`;
  const type = types.get(f.machine);
  if (!type) throw new ConfigError(`${at}.machine`, `no machine "${f.machine}" in the fleet`);
  if (!FAULT_CATALOGUE[f.fault].applies(type)) {
    throw new ConfigError(`${at}.fault`, `${f.fault} does not apply to a ${type}`);
  }
  if (!(f.failure > f.onset)) throw new ConfigError(`${at}.failure`, 'must be after onset');
  let sensor: LowRateSensor | undefined;
  if (isSensorFault(f.fault)) {
    sensor = f.sensor;
    if (!sensor || !MACHINE_SPECS[type].sensors.includes(sensor)) {
      const options = MACHINE_SPECS[type].sensors.join(', ');
      throw new ConfigError(`${at}.sensor`, `a ${f.fault} needs one of this ${type}'s sensors: ${options}`);
    }
  }
  return {
    machine: f.machine,
    fault: f.fault,
    onset: f.onset,
    failure: f.failure,
    recovered: recoveredAt(f.fault, f.failure, repairMs),
    sensors: affectedSensors(f.fault, type, sensor),
  };
}

function randomPlan(machine: MachineSpecEntry, input: FaultScheduleInput, random: RandomFaults): FaultPlan | undefined {
  const rng = new Rng(input.seed, machine.id, 'fault-schedule');
  if (!rng.chance(random.probability)) return undefined;
  const kinds = random.kinds.filter((k) => FAULT_CATALOGUE[k].applies(machine.type));
  if (kinds.length === 0) return undefined;
  const fault = rng.pick(kinds);
  const earliest = input.startMs + random.healthyFraction * input.durationMs;
  const end = input.startMs + input.durationMs;
  const [minLength, maxLength] = FAULT_CATALOGUE[fault].typicalDuration;
  // Short runs compress the fault so it still progresses to failure inside the run.
  const room = Math.max(1, end - earliest);
  const length = Math.min(rng.uniform(minLength, maxLength), 0.9 * room);
  const onset = Math.round(earliest + rng.next() * (room - length));
  const failure = Math.round(onset + length);
  const sensor = isSensorFault(fault) ? rng.pick(MACHINE_SPECS[machine.type].sensors) : undefined;
  return {
    machine: machine.id,
    fault,
    onset,
    failure,
    recovered: recoveredAt(fault, failure, input.repairMs),
    sensors: affectedSensors(fault, machine.type, sensor),
  };
}

function overlaps(a: FaultPlan, b: FaultPlan): boolean {
  return a.onset < b.recovered && b.onset < a.recovered;
}
