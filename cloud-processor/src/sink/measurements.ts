// The fixed InfluxDB series names (ARCHITECTURE.md "InfluxDB series"): users' dashboards and queries
// rely on them, so they change only with a compatible path.
export const MEASUREMENTS = {
  features: 'sensor_features',
  anomaly: 'anomaly',
  alerts: 'alerts',
  pipeline: 'pipeline',
} as const;

/** Measurements the continuous queries downsample (into `<name>_<interval>` in the downsampled policy). */
export const DOWNSAMPLED_MEASUREMENTS = [MEASUREMENTS.features, MEASUREMENTS.anomaly] as const;
