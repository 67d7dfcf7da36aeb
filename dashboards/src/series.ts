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
    // `site` is set on edge-gateway points only.
    tags: ['component', 'instance', 'site'],
    fields: [
      // The processor's PipelineReporter (component "cloud-processor"), every report interval.
      'throughput', 'messages', 'ack_latency_ms', 'lag_ms', 'dead_letters', 'contract_mismatches', 'in_flight', 'open_alerts',
      // The gateways' health reports (component "edge-gateway"): running totals since the gateway
      // started, state at the report, and publish latency since its previous report. Plus one
      // `rejected_<reason>` total per reject reason seen (see REJECTED_FIELDS).
      'readings_accepted', 'rejected', 'late_readings', 'windows_emitted', 'windows_published', 'publish_errors', 'windows_dropped',
      'open_windows', 'outbox_depth', 'outbox_bytes', 'outbox_oldest_age_ms', 'outbox_hours_of_outage_left', 'publish_in_flight',
      'publish_latency_mean_ms', 'publish_latency_p50_ms', 'publish_latency_p99_ms',
    ],
  },
} as const;

export type Measurement = keyof typeof SERIES;
export type FieldOf<M extends Measurement> = (typeof SERIES)[M]['fields'][number];
export type TagOf<M extends Measurement> = (typeof SERIES)[M]['tags'][number];

/** InfluxQL regex selecting every per-sensor contribution field of `anomaly`. */
export const CONTRIBUTION_FIELDS = '/^contrib_/';

/** InfluxQL regex selecting every per-reason reject total of the gateways' `pipeline` points. */
export const REJECTED_FIELDS = '/^rejected_/';

/** Values of the `alerts` measurement's `state` tag. */
export const ALERT_STATE = { open: 'open', resolved: 'resolved' } as const;

/** The `component` tag the processor's pipeline reports carry. */
export const PROCESSOR_COMPONENT = 'cloud-processor';

/** The `component` tag of the points written from the gateways' health reports. */
export const GATEWAY_COMPONENT = 'edge-gateway';
