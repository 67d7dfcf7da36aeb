// One machine-window → the feature vector a model was trained on, or the precise reason it cannot be
// scored. A window that does not fit is refused, never imputed: a silent sensor must surface as
// "sensor missing", not as a confident score computed from made-up numbers.
import { SENSOR_STAT_FIELDS, type MachineWindow, type SensorStatName, type SensorStats } from '@pdm/proto';
import type { ModelContract } from './api.js';
import { MODEL_DEFAULTS } from './defaults.js';

/** Counts describe how complete a window is, not the signal: they are checked, never features. */
const COUNTS = ['count', 'expected_count', 'late_count'] as const satisfies readonly SensorStatName[];

/** A statistic a feature can be made of ("vib.crest_factor"): every SensorStats statistic but the counts. */
export type StatisticName = Exclude<SensorStatName, (typeof COUNTS)[number]>;

export function isStatisticName(s: string): s is StatisticName {
  return Object.hasOwn(SENSOR_STAT_FIELDS, s) && !(COUNTS as readonly string[]).includes(s);
}

export function featureName(sensorId: string, stat: StatisticName): string {
  return `${sensorId}.${stat}`;
}

/** Splits "pump-1.temp.mean" at the last dot: sensor ids may contain dots, statistic names do not. */
export function parseFeatureName(name: string): { sensorId: string; stat: StatisticName } {
  const dot = name.lastIndexOf('.');
  const stat = name.slice(dot + 1);
  if (dot <= 0 || !isStatisticName(stat)) throw new Error(`feature name '${name}' is not "<sensor>.<statistic>"`);
  return { sensorId: name.slice(0, dot), stat };
}

export type MismatchCode = 'feature_version' | 'window_size' | 'missing_sensor' | 'incomplete_sensor' | 'non_finite';

export interface Mismatch {
  code: MismatchCode;
  reason: string;
}

/** A contract compiled for fast extraction: the sensors it needs and, per feature, where to read it. */
export interface FeatureLayout {
  contract: ModelContract;
  sensors: string[];
  /** For feature j: index into `sensors` and the SensorStats field. */
  reads: { sensor: number; field: (typeof SENSOR_STAT_FIELDS)[StatisticName] }[];
}

export function layoutOf(contract: ModelContract): FeatureLayout {
  const sensors: string[] = [];
  const reads = contract.featureNames.map((name) => {
    const { sensorId, stat } = parseFeatureName(name);
    let sensor = sensors.indexOf(sensorId);
    if (sensor < 0) sensor = sensors.push(sensorId) - 1;
    return { sensor, field: SENSOR_STAT_FIELDS[stat] };
  });
  return { contract, sensors, reads };
}

export function windowMsOf(window: MachineWindow): number {
  return Number(window.windowEnd - window.windowStart);
}

/**
 * Checks `window` against the layout's contract and writes its features into `out` at `offset`.
 * Returns null on success, or the first mismatch found (version, then size, then each sensor).
 */
export function extractFeatures(
  window: MachineWindow,
  layout: FeatureLayout,
  out: Float64Array,
  offset: number,
  minCompleteness: number = MODEL_DEFAULTS.minCompleteness,
): Mismatch | null {
  const { contract } = layout;
  if (window.featureVersion !== contract.featureVersion) {
    return { code: 'feature_version', reason: `feature_version ${window.featureVersion}, model expects ${contract.featureVersion}` };
  }
  const windowMs = windowMsOf(window);
  if (windowMs !== contract.windowMs) {
    return { code: 'window_size', reason: `window of ${windowMs} ms, model expects ${contract.windowMs} ms` };
  }
  const found: SensorStats[] = [];
  for (const sensorId of layout.sensors) {
    const stats = window.sensors.find((s) => s.sensorId === sensorId);
    if (stats === undefined) {
      return { code: 'missing_sensor', reason: `sensor '${sensorId}' has no readings in this window (silent sensor?)` };
    }
    if (stats.expectedCount > 0 && stats.count < minCompleteness * stats.expectedCount) {
      return {
        code: 'incomplete_sensor',
        reason: `sensor '${sensorId}' has ${stats.count} of ${stats.expectedCount} expected readings`,
      };
    }
    found.push(stats);
  }
  for (let j = 0; j < layout.reads.length; j++) {
    const read = layout.reads[j]!;
    const value = found[read.sensor]![read.field];
    if (!Number.isFinite(value)) {
      return { code: 'non_finite', reason: `${contract.featureNames[j]} is ${value}` };
    }
    out[offset + j] = value;
  }
  return null;
}

/**
 * Per contract sensor, its share of a score from per-feature terms (a T² model's rⱼ·(C⁻¹r)ⱼ, a
 * univariate model's z-scores). A T² term can be negative (two correlated features moving against their
 * usual relation lower each other's terms); a sensor's summed terms below zero count as no share, and the
 * shares are renormalised to sum to 1 (0s if nothing is positive).
 */
export function sensorShares(layout: FeatureLayout, terms: ArrayLike<number>): Float64Array {
  const shares = new Float64Array(layout.sensors.length);
  for (let j = 0; j < layout.reads.length; j++) shares[layout.reads[j]!.sensor]! += terms[j]!;
  let sum = 0;
  for (let s = 0; s < shares.length; s++) {
    if (!(shares[s]! > 0)) shares[s] = 0;
    sum += shares[s]!;
  }
  if (sum > 0) for (let s = 0; s < shares.length; s++) shares[s]! /= sum;
  return shares;
}
