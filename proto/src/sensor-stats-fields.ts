// The numeric SensorStats fields by their proto (snake_case) names: the names InfluxDB fields, JSON
// lines and tools use for them. One table, so a statistic added to the schema is added everywhere.
import type { SensorStats } from './gen/pdm/v1/features_pb.js';

export const SENSOR_STAT_FIELDS = {
  count: 'count',
  expected_count: 'expectedCount',
  mean: 'mean',
  variance: 'variance',
  std: 'std',
  min: 'min',
  max: 'max',
  rms: 'rms',
  peak_to_peak: 'peakToPeak',
  skewness: 'skewness',
  kurtosis: 'kurtosis',
  crest_factor: 'crestFactor',
  late_count: 'lateCount',
} as const satisfies Record<string, keyof SensorStats>;

export type SensorStatName = keyof typeof SENSOR_STAT_FIELDS;

/** SENSOR_STAT_FIELDS as typed [proto name, SensorStats key] pairs, in schema order, for loops over every statistic. */
export const SENSOR_STAT_ENTRIES = Object.entries(SENSOR_STAT_FIELDS) as ReadonlyArray<[SensorStatName, (typeof SENSOR_STAT_FIELDS)[SensorStatName]]>;

/** The statistics of one SensorStats keyed by their proto names, in schema order. */
export function sensorStatsByName(stats: SensorStats): Record<SensorStatName, number> {
  const out = {} as Record<SensorStatName, number>;
  for (const [name, field] of SENSOR_STAT_ENTRIES) out[name] = stats[field];
  return out;
}
