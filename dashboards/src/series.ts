// The InfluxDB series the processor writes (ARCHITECTURE.md "InfluxDB series", fixed names), as the
// dashboards read them. Mirrored here rather than imported so the built dashboards do not load the
// processor at run time; the proof test checks these names against the processor's own MEASUREMENTS
// and against a real influxd filled by the processor's InfluxSink.
export const DATABASE = 'pdm';

export const SERIES = {
  sensor_features: {
    tags: ['site', 'gateway', 'machine', 'sensor'],
    fields: [
      'count', 'expected_count', 'late_count', 'mean', 'variance', 'std', 'min', 'max', 'rms', 'peak_to_peak',
      'skewness', 'kurtosis', 'crest_factor', 'revision', 'feature_version', 'window_ms',
    ],
  },
  anomaly: {
    tags: ['site', 'machine', 'model'],
    // Plus one `contrib_<sensor>` field per sensor (see CONTRIBUTION_FIELDS).
    fields: ['score', 'threshold', 'is_anomaly', 'model_version'],
  },
  alerts: {
    tags: ['machine', 'state'],
    fields: ['score', 'message', 'alert_id', 'site'],
  },
  pipeline: {
    tags: ['component', 'instance'],
    // Written by the processor's PipelineReporter (component "cloud-processor") every report interval.
    fields: ['throughput', 'messages', 'ack_latency_ms', 'lag_ms', 'dead_letters', 'contract_mismatches', 'in_flight', 'open_alerts'],
  },
} as const;

export type Measurement = keyof typeof SERIES;
export type FieldOf<M extends Measurement> = (typeof SERIES)[M]['fields'][number];
export type TagOf<M extends Measurement> = (typeof SERIES)[M]['tags'][number];

/** InfluxQL regex selecting every per-sensor contribution field of `anomaly`. */
export const CONTRIBUTION_FIELDS = '/^contrib_/';

/** Values of the `alerts` measurement's `state` tag. */
export const ALERT_STATE = { open: 'open', resolved: 'resolved' } as const;

/** The `component` tag the processor's pipeline reports carry. */
export const PROCESSOR_COMPONENT = 'cloud-processor';
