// Public entry point of @pdm/simulator: the fleet model, fault schedule and ground truth, the run
// loop with its sinks and chaos stage, the evaluator, and the two CLI functions `pdm` registers
// (with the flag parsers `pdm benchmark simulator` checks its own flags with, to refuse what they would).
export { Rng } from './random/prng.js';
export { parseDuration, parseRate, parseSpeed, parseInstant, formatInstant } from './time/parse.js';
export { SIMULATOR_DEFAULTS } from './defaults.js';

export {
  MACHINE_TYPES,
  MACHINE_SPECS,
  LOW_RATE_SENSORS,
  VIBRATION,
  type MachineType,
  type LowRateSensor,
  type SensorId,
} from './fleet/machine-types.js';
export { Machine, type MachineTick, type MachineOptions } from './fleet/machine.js';
export { Fleet, fleetFromMix, type FleetOptions } from './fleet/fleet.js';

export { FAULT_KINDS, SENSOR_FAULT_KINDS, type FaultKind, type FaultPlan } from './faults/catalogue.js';
export { scheduleFaults, type ExplicitFault, type RandomFaults, type MachineSpecEntry } from './faults/schedule.js';
export { toGroundTruth, parseGroundTruth, type GroundTruthEntry } from './faults/ground-truth.js';

export { type ChaosOptions, noChaos } from './chaos/options.js';
export { type ChaosCounters } from './chaos/chaos-stage.js';
export { MALFORMED_KINDS, type MalformedKind } from './chaos/malformed.js';

export { csvColumns, csvRow, VIBRATION_COLUMNS } from './output/csv-sink.js';
export { summariseVibration, type VibrationSummary } from './output/vibration-summary.js';
export { PAYLOAD_FORMATS, type PayloadFormat } from './output/messages.js';
export { sensorTopic } from './output/payloads.js';

export { ConfigError } from './config/config-error.js';
export { configSchema, type FileConfig } from './config/schema.js';
export { loadConfigFile, validateConfig } from './config/load.js';
export { resolveConfig, type ConfigOverrides } from './config/resolve.js';

export {
  runSimulation,
  type SimulationConfig,
  type SimulationResult,
  type Progress,
  type ActiveFault,
  type RunOptions,
} from './run/simulation.js';

export { evaluate, type Evaluation, type FaultOutcome, type EvaluationOptions } from './evaluate/evaluate.js';
export { renderEvaluation, evaluationJson, formatDuration } from './evaluate/report.js';

export { type CliIo, FlagError, flagValue, integerIn } from './cli/io.js';
export { runSimulateCli, SIMULATE_USAGE, MAX_MACHINES, positiveDuration } from './cli/simulate-cli.js';
export { runEvaluateCli, EVALUATE_USAGE } from './cli/evaluate-cli.js';
