// Turns the fault section of a config into concrete FaultPlans: explicit faults as given (checked
// against the fleet), plus random ones drawn from a seeded stream per machine. Random faults start
// after the healthy prefix and are fitted to end (fail) inside the run whenever their length allows.
// Every labelled time lies on the tick grid: readings only change at ticks, so a label between two
// ticks would claim a fault (or a failure) before any reading could show it.
import { ConfigError } from '../config/config-error.js';
import type { LowRateSensor, MachineType } from '../fleet/machine-types.js';
import { MACHINE_SPECS } from '../fleet/machine-types.js';
import { Rng } from '../random/prng.js';
import { formatInstant } from '../time/parse.js';
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
  /** The run's tick: fault times are moved onto its grid. */
  tickMs: number;
  repairMs: number;
  machines: readonly MachineSpecEntry[];
  explicit: readonly ExplicitFault[];
  random?: RandomFaults | undefined;
}

export function scheduleFaults(input: FaultScheduleInput): FaultPlan[] {
  const types = new Map(input.machines.map((m) => [m.id, m.type]));
  const plans = input.explicit.map((fault, i) => explicitPlan(fault, i, types, input));
  if (input.random && input.random.probability > 0) {
    for (const machine of input.machines) {
      const plan = randomPlan(machine, input, input.random);
      if (plan && !plans.some((p) => p.machine === plan.machine && overlaps(p, plan))) plans.push(plan);
    }
  }
  return plans.sort((a, b) => a.onset - b.onset || a.machine.localeCompare(b.machine));
}

/**
 * The plan with onset, failure and recovery moved to the first tick at or after each: the tick at
 * which the readings change (the machine steps only at ticks, see Machine.step).
 */
function planOnTicks(
  machine: string,
  fault: FaultKind,
  onset: number,
  failure: number,
  sensors: FaultPlan['sensors'],
  input: FaultScheduleInput,
): FaultPlan {
  const { tickMs } = input;
  const nextTick = (ms: number) => input.startMs + Math.ceil((ms - input.startMs) / tickMs) * tickMs;
  const failed = nextTick(failure);
  // A failed sensor is swapped without stopping the machine; a failed machine is down for repair.
  const recovered = isSensorFault(fault) ? failed : nextTick(failed + input.repairMs);
  return { machine, fault, onset: nextTick(onset), failure: failed, recovered, sensors };
}

function explicitPlan(
  f: ExplicitFault,
  index: number,
  types: Map<string, MachineType>,
  input: FaultScheduleInput,
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
  // Configured times are snapped like random ones rather than refused: "onset: 90m" stays valid
  // whatever --tick a run is given, and the label still says when the readings change.
  const plan = planOnTicks(f.machine, f.fault, f.onset, f.failure, affectedSensors(f.fault, type, sensor), input);
  if (plan.failure === plan.onset) {
    throw new ConfigError(`${at}.failure`, `falls in the same tick as onset (${formatInstant(plan.onset)}): the fault would never show`);
  }
  return plan;
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
  const onset = earliest + rng.next() * (room - length);
  const sensor = isSensorFault(fault) ? rng.pick(MACHINE_SPECS[machine.type].sensors) : undefined;
  const plan = planOnTicks(machine.id, fault, onset, onset + length, affectedSensors(fault, machine.type, sensor), input);
  // Only in a run a few ticks long: the fault would start and end between the same two ticks.
  return plan.failure > plan.onset ? plan : undefined;
}

function overlaps(a: FaultPlan, b: FaultPlan): boolean {
  return a.onset < b.recovered && b.onset < a.recovered;
}
