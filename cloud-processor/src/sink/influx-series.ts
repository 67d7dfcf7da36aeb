// The InfluxDB series the processor writes (README "Contracts"), declared once: measurement names, tag
// keys and field names. The sink builds its points from them, the pipeline reporter names its figures
// with them, and the dashboards query them (through `@pdm/cloud-processor/influx-series`, which loads
// nothing else of the processor). Users' dashboards and queries rely on these names, so they change
// only with a compatible path.
import { SENSOR_STAT_ENTRIES } from '@pdm/proto';

/** The database the processor writes to unless configured otherwise (`influx.database`). */
export const DEFAULT_DATABASE = 'pdm';

/** The processor's own figures, one `pipeline` point per report interval (component `cloud-processor`). */
export const PROCESSOR_REPORT_FIELDS = ['throughput', 'messages', 'ack_latency_ms', 'lag_ms', 'dead_letters', 'contract_mismatches', 'in_flight', 'open_alerts'] as const;
type ProcessorReportField = (typeof PROCESSOR_REPORT_FIELDS)[number];
/**
 * Figures over the interval since the previous report, left out when it has none (no throughput in the
 * first report after a start, no ack latency or lag while nothing settled or was stored): a 0 would read
 * as no lag during an outage, and pull the means down.
 */
type ProcessorIntervalField = Extract<ProcessorReportField, 'throughput' | 'ack_latency_ms' | 'lag_ms'>;
export type ProcessorReport = Record<Exclude<ProcessorReportField, ProcessorIntervalField>, number> & Partial<Record<ProcessorIntervalField, number>>;

/**
 * A gateway's health report as a `pipeline` point (component `edge-gateway`): running totals since the
 * gateway started, its state at the report, and publish latency since its previous report. Plus one
 * `rejected_<reason>` total per reject reason seen (REJECTED_FIELD_PREFIX).
 */
export const GATEWAY_HEALTH_FIELDS = [
  'readings_accepted', 'rejected', 'late_readings', 'windows_emitted', 'windows_published', 'publish_errors', 'windows_dropped',
  'open_windows', 'outbox_depth', 'outbox_bytes', 'outbox_oldest_age_ms', 'outbox_hours_of_outage_left', 'publish_in_flight',
  'publish_latency_mean_ms', 'publish_latency_p50_ms', 'publish_latency_p99_ms',
] as const;

/** Every measurement with its tag keys and (fixed) field names. */
export const SERIES = {
  sensor_features: {
    tags: ['site', 'gateway', 'machine', 'sensor'],
    // One field per statistic of pdm.v1.SensorStats, by its proto name.
    fields: [...SENSOR_STAT_ENTRIES.map(([name]) => name), 'revision', 'feature_version', 'window_ms'],
  },
  anomaly: {
    tags: ['site', 'machine', 'model'],
    // Plus one `contrib_<sensor>` field per sensor (CONTRIBUTION_FIELD_PREFIX).
    fields: ['score', 'threshold', 'is_anomaly', 'model_version'],
  },
  alerts: {
    tags: ['machine', 'state'],
    // suppressed: the transition of an episode that opened while its machine was muted (not delivered).
    fields: ['score', 'message', 'alert_id', 'site', 'suppressed'],
  },
  alert_actions: {
    // What people did about alerts (`pdm alerts`, the processor's API), timestamped when they did it:
    // ack, resolve (by hand), mute, unmute (a machine), label (an episode). alert_id: the episode (not
    // on mute/unmute); label: one of ALERT_LABEL, with a free-text cause; mute_until: epoch ms.
    tags: ['site', 'machine', 'action'],
    fields: ['alert_id', 'who', 'note', 'label', 'cause', 'mute_until'],
  },
  unscored: {
    // One point per window that was not scored, so the machines without a working model can be listed.
    // reason: the scoring outcome, `no_model`, `contract_mismatch` or `held` (the running-state gate).
    tags: ['site', 'machine', 'reason'],
    // windows: always 1 (sum() counts the windows); detail: why, e.g. which model lacks which sensor.
    fields: ['windows', 'detail'],
  },
  pipeline: {
    // `site` is set on edge-gateway points only.
    tags: ['component', 'instance', 'site'],
    fields: [...PROCESSOR_REPORT_FIELDS, ...GATEWAY_HEALTH_FIELDS],
  },
  model_drift: {
    // Every pipeline report, per served model version with a feature profile and processor instance:
    // psi, the largest feature PSI of its newest windows against training, and feature, that feature's
    // name; threshold, the PSI above which to retrain (model.driftRetrainPsi); windows, how many were
    // counted. Plus one `psi_<feature>` field per feature (DRIFT_FIELD_PREFIX).
    tags: ['model', 'version', 'instance'],
    fields: ['psi', 'feature', 'threshold', 'windows'],
  },
} as const;

/**
 * The processor's own bookkeeping, which it reads back (alerts/alert-store.ts), not for dashboards:
 * - `alert_state`: each machine's alert rule state after each window it counted (timestamp: that
 *   window's start; `checkpoint` the state as JSON, `open` whether an alert is open), so the newest
 *   point is the state to carry on from, for any processor and after a restart;
 * - `alert_deliveries`: one point per alert transition (timestamp: the window end that caused it, tag
 *   `state` open/resolved) with the targets it still has to reach (`pending`, comma-separated; empty
 *   once every target confirmed or was given up), so a delivery survives the processor that started it.
 */
export const BOOKKEEPING_SERIES = {
  alert_state: {
    tags: ['site', 'machine'],
    fields: ['checkpoint', 'open'],
  },
  alert_deliveries: {
    tags: ['site', 'machine', 'state'],
    fields: ['alert_id', 'transition', 'pending', 'attempts', 'created_at', 'updated_at'],
  },
} as const;

export type BookkeepingMeasurement = keyof typeof BOOKKEEPING_SERIES;

/**
 * The model lifecycle's series (model/lifecycle.ts), apart from SERIES until the dashboards' proof run
 * writes them:
 * - `anomaly_shadow`: the scores of shadow versions, as `anomaly` (plus `contrib_<sensor>`), on the
 *   windows the serving version scored; never alerting;
 * - `model_changes`: one point per `pdm models` change (timestamp: when), `machines` comma-separated,
 *   `ended_rollout` the rollout a promote or rollback ended ("<version> on <machines>").
 */
export const LIFECYCLE_SERIES = {
  anomaly_shadow: {
    tags: ['site', 'machine', 'model'],
    fields: ['score', 'threshold', 'is_anomaly', 'model_version'],
  },
  model_changes: {
    tags: ['model', 'action'],
    fields: ['who', 'from_version', 'to_version', 'machines', 'ended_rollout', 'note'],
  },
} as const;

export type LifecycleMeasurement = keyof typeof LIFECYCLE_SERIES;

export type Measurement = keyof typeof SERIES;
export type FieldOf<M extends Measurement> = (typeof SERIES)[M]['fields'][number];
export type TagOf<M extends Measurement> = (typeof SERIES)[M]['tags'][number];

/** Measurements the continuous queries downsample (into `<name>_<interval>` in the downsampled policy). */
export const DOWNSAMPLED_MEASUREMENTS = ['sensor_features', 'anomaly', 'anomaly_shadow'] as const satisfies readonly (Measurement | LifecycleMeasurement)[];

/** Prefix of the per-sensor share of the score on `anomaly`, e.g. `contrib_vibration`. */
export const CONTRIBUTION_FIELD_PREFIX = 'contrib_';

/** Prefix of the per-feature PSI on `model_drift`, e.g. `psi_vib.rms`. */
export const DRIFT_FIELD_PREFIX = 'psi_';

/** Prefix of the per-reason reject totals on the gateways' `pipeline` points, e.g. `rejected_bad_json`. */
export const REJECTED_FIELD_PREFIX = 'rejected_';

/** Values of the `alerts` measurement's `state` tag. */
export const ALERT_STATE = { open: 'open', resolved: 'resolved' } as const;

/** Values of the `alert_actions` measurement's `action` tag. */
export const ALERT_ACTION = ['ack', 'resolve', 'mute', 'unmute', 'label'] as const;
export type AlertActionKind = (typeof ALERT_ACTION)[number];

/** What an episode can be labelled (`alert_actions` field `label`). */
export const ALERT_LABEL = ['fault', 'false_alarm', 'maintenance'] as const;
export type AlertLabel = (typeof ALERT_LABEL)[number];

/** The `component` tag of the processor's own `pipeline` points. */
export const PROCESSOR_COMPONENT = 'cloud-processor';

/** The `component` tag of the `pipeline` points made from gateways' health reports. */
export const GATEWAY_COMPONENT = 'edge-gateway';
