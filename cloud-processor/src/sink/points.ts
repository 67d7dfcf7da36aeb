// Maps pipeline data to InfluxDB points of the series in influx-series.ts (tag and field names are
// checked against it at compile time). Every point of a window has a deterministic timestamp
// (window_start, ms) and tag set, so a redelivered window, or a revision of it, overwrites its own
// point instead of adding one: InfluxDB keys a point by measurement + tags + timestamp.
// Tags are listed in sorted key order, which pointLine keeps: InfluxDB sorts (and copies) the tags of
// every line that has them out of order (window-lines.ts).
//
// Revisions: `revision` and `feature_version` are fields, not tags. A revision (late readings) is a
// better version of the same window, so it replaces the point; keeping it as a tag would make every
// query see the window twice. The pipeline refuses to let an older revision overwrite a newer one
// (see pipeline/revision-guard.ts).
import { SENSOR_STAT_ENTRIES, type GatewayHealth, type MachineWindow } from '@pdm/proto';
import type { IPoint } from 'influx';
import type { HeldReason, ScoreOutcome, WindowScore } from '../model/api.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import type { ModelChange } from '../model/lifecycle.js';
import {
  type BOOKKEEPING_SERIES,
  CONTRIBUTION_FIELD_PREFIX,
  type AlertActionKind,
  type AlertLabel,
  type BookkeepingMeasurement,
  GATEWAY_COMPONENT,
  REJECTED_FIELD_PREFIX,
  type FieldOf,
  type GATEWAY_HEALTH_FIELDS,
  type LIFECYCLE_SERIES,
  type LifecycleMeasurement,
  type Measurement,
  type ProcessorReport,
  type TagOf,
} from './influx-series.js';

type Fields = Record<string, number | boolean | string>;
/** The named fields of a measurement (families such as `contrib_<sensor>` are added beside them). */
type FieldsOf<M extends Measurement> = Partial<Record<FieldOf<M>, number | boolean | string>>;
type TagsOf<M extends Measurement> = Partial<Record<TagOf<M>, string>>;


/**
 * Sets a field unless it is a non-finite number: InfluxDB line protocol has no NaN/Infinity, and such a
 * field would fail the whole batch, forever. Returns how many fields were dropped (0 or 1).
 */
function setFinite(fields: Fields, name: string, value: number | boolean | string): number {
  if (typeof value === 'number' && !Number.isFinite(value)) return 1;
  fields[name] = value;
  return 0;
}

function finiteFields(fields: Fields): { fields: Fields; dropped: number } {
  const out: Fields = {};
  let dropped = 0;
  for (const [name, value] of Object.entries(fields)) dropped += setFinite(out, name, value);
  return { fields: out, dropped };
}

export interface BuiltPoints {
  points: IPoint[];
  /** Non-finite statistics left out (counted by the caller). */
  droppedFields: number;
}

export function featurePoints(window: MachineWindow): BuiltPoints {
  let droppedFields = 0;
  const timestamp = Number(window.windowStart);
  const windowMs = Number(window.windowEnd - window.windowStart);
  const points = window.sensors.map((s): IPoint => {
    const fields: Fields = {};
    for (const [name, key] of SENSOR_STAT_ENTRIES) droppedFields += setFinite(fields, name, s[key]);
    fields.revision = window.revision;
    fields.feature_version = window.featureVersion;
    fields.window_ms = windowMs;
    return {
      measurement: 'sensor_features' satisfies Measurement,
      tags: { gateway: window.gatewayId, machine: window.machineId, sensor: s.sensorId, site: window.siteId } satisfies TagsOf<'sensor_features'>,
      fields,
      timestamp,
    };
  });
  return { points, droppedFields };
}

/** A window's score: in `anomaly` from the serving version, in `anomaly_shadow` (same tags and fields) from a shadow one. */
export function anomalyPoint(score: WindowScore, measurement: 'anomaly' | 'anomaly_shadow' = 'anomaly'): BuiltPoints {
  const contributions = Object.fromEntries(Object.entries(score.contributions).map(([sensor, share]) => [`${CONTRIBUTION_FIELD_PREFIX}${sensor}`, share]));
  const named = { score: score.score, threshold: score.threshold, is_anomaly: score.isAnomaly, model_version: score.modelVersion } satisfies FieldsOf<'anomaly'>;
  const { fields, dropped } = finiteFields({ ...named, ...contributions });
  const tags = { machine: score.machineId, model: score.model, site: score.siteId } satisfies TagsOf<'anomaly'>;
  return {
    points: [{ measurement, tags, fields, timestamp: score.windowStart }],
    droppedFields: dropped,
  };
}

/** One `pdm models` change of a model's lifecycle, timestamped when it was made. */
export function modelChangePoint(model: string, change: ModelChange): IPoint {
  const fields: Partial<Record<(typeof LIFECYCLE_SERIES)['model_changes']['fields'][number], string>> = { who: change.who, to_version: change.to };
  if (change.from !== undefined) fields.from_version = change.from;
  if (change.machines !== undefined) fields.machines = change.machines.join(',');
  if (change.endedRollout !== undefined) fields.ended_rollout = `${change.endedRollout.version} on ${change.endedRollout.machines.join(',')}`;
  if (change.note !== undefined) fields.note = change.note;
  return {
    measurement: 'model_changes' satisfies LifecycleMeasurement,
    tags: { action: change.action, model } satisfies Record<(typeof LIFECYCLE_SERIES)['model_changes']['tags'][number], string>,
    fields,
    timestamp: Date.parse(change.at),
  };
}

/** A scoring outcome that is not a score. */
export type Unscored = Exclude<ScoreOutcome, { kind: 'scored' }>;

/** Why a window was held, for people reading the `unscored` points. */
const HELD_DETAIL: Record<HeldReason, string> = {
  stopped: 'held: the machine is stopped (a state sensor below its running level)',
  transient: 'held: the machine is changing speed or load (a state sensor stepped since the last window)',
  settling: 'held: settling after a stop, a start or a change of speed or load',
  calibrating: `held: learning this new machine's level from its first ${MODEL_DEFAULTS.robustT2.minMachineWindows} windows (no alert until then)`,
};

/**
 * The `unscored` point of a window no model scored: tagged with the outcome as its reason, timestamped
 * like the window's other points (a redelivery overwrites it). Kept when a later revision of the window
 * is scored: it records what happened to the window when it arrived.
 */
export function unscoredPoint(window: MachineWindow, unscored: Unscored): IPoint {
  const detail =
    unscored.kind === 'contract_mismatch'
      ? unscored.reason
      : unscored.kind === 'held'
        ? HELD_DETAIL[unscored.reason]
        : `no model applies: none lists this machine in its contract's machines, and none that serves every machine uses any of its sensors (${window.sensors.map((s) => s.sensorId).join(', ')})`;
  return {
    measurement: 'unscored' satisfies Measurement,
    tags: { machine: window.machineId, reason: unscored.kind, site: window.siteId } satisfies TagsOf<'unscored'>,
    fields: { windows: 1, detail } satisfies FieldsOf<'unscored'>,
    timestamp: Number(window.windowStart),
  };
}

export interface AlertPointInput {
  machineId: string;
  siteId: string;
  alertId: string;
  /** 'open' or 'resolved'. */
  state: string;
  score: number;
  message: string;
  /** Epoch ms of the window that caused the transition: a replay rewrites the same point. */
  windowEnd: number;
  /** An episode that opened while its machine was muted: recorded, not delivered. */
  suppressed?: boolean;
}

export function alertPoint(alert: AlertPointInput): IPoint {
  const fields = { score: alert.score, message: alert.message, alert_id: alert.alertId, site: alert.siteId, suppressed: alert.suppressed === true } satisfies FieldsOf<'alerts'>;
  return {
    measurement: 'alerts' satisfies Measurement,
    tags: { machine: alert.machineId, state: alert.state } satisfies TagsOf<'alerts'>,
    fields: finiteFields(fields).fields,
    timestamp: alert.windowEnd,
  };
}

/** One thing a person did about an alert or a machine (alerts/alert-actions.ts). */
export interface AlertActionInput {
  /** When it was done, epoch ms. */
  time: number;
  action: AlertActionKind;
  siteId: string;
  machineId: string;
  /** The episode acted on (ack, resolve, label). */
  alertId?: string;
  who: string;
  note?: string;
  label?: AlertLabel;
  cause?: string;
  /** mute: until when (epoch ms) the machine's alerts are suppressed. */
  muteUntil?: number;
}

export function alertActionPoint(input: AlertActionInput): IPoint {
  const fields: FieldsOf<'alert_actions'> = { who: input.who };
  if (input.alertId !== undefined) fields.alert_id = input.alertId;
  if (input.note !== undefined) fields.note = input.note;
  if (input.label !== undefined) fields.label = input.label;
  if (input.cause !== undefined) fields.cause = input.cause;
  if (input.muteUntil !== undefined) fields.mute_until = input.muteUntil;
  return {
    measurement: 'alert_actions' satisfies Measurement,
    tags: { action: input.action, machine: input.machineId, site: input.siteId } satisfies TagsOf<'alert_actions'>,
    fields: finiteFields(fields).fields,
    timestamp: input.time,
  };
}

type BookkeepingFields<M extends BookkeepingMeasurement> = Record<(typeof BOOKKEEPING_SERIES)[M]['fields'][number], number | boolean | string>;
type BookkeepingTags<M extends BookkeepingMeasurement> = Record<(typeof BOOKKEEPING_SERIES)[M]['tags'][number], string>;

export interface AlertStateInput {
  siteId: string;
  machineId: string;
  /** The window counted last: the newest point of a machine is its current state. */
  windowStart: number;
  /** The state as JSON. */
  checkpoint: string;
  open: boolean;
}

export function alertStatePoint(input: AlertStateInput): IPoint {
  return {
    measurement: 'alert_state' satisfies BookkeepingMeasurement,
    tags: { machine: input.machineId, site: input.siteId } satisfies BookkeepingTags<'alert_state'>,
    fields: { checkpoint: input.checkpoint, open: input.open } satisfies BookkeepingFields<'alert_state'>,
    timestamp: input.windowStart,
  };
}

export interface AlertDeliveryInput {
  siteId: string;
  machineId: string;
  state: string;
  alertId: string;
  /** Epoch ms of the window that caused the transition: rewriting a delivery updates its point. */
  windowEnd: number;
  /** The transition as JSON (what the targets are sent). */
  transition: string;
  /** Targets still to reach, comma-separated; '' when done. */
  pending: string;
  attempts: number;
  /** Processor clock, epoch ms. */
  createdAt: number;
  updatedAt: number;
}

export function alertDeliveryPoint(input: AlertDeliveryInput): IPoint {
  const fields = {
    alert_id: input.alertId,
    transition: input.transition,
    pending: input.pending,
    attempts: input.attempts,
    created_at: input.createdAt,
    updated_at: input.updatedAt,
  } satisfies BookkeepingFields<'alert_deliveries'>;
  return {
    measurement: 'alert_deliveries' satisfies BookkeepingMeasurement,
    tags: { machine: input.machineId, site: input.siteId, state: input.state } satisfies BookkeepingTags<'alert_deliveries'>,
    fields,
    timestamp: input.windowEnd,
  };
}

export function pipelinePoint(component: string, instance: string, report: ProcessorReport, timestamp: number): IPoint {
  const tags = { component, instance } satisfies TagsOf<'pipeline'>;
  return { measurement: 'pipeline' satisfies Measurement, tags, fields: finiteFields(report).fields, timestamp };
}

/**
 * A gateway's health report as a `pipeline` point (component=edge-gateway, instance=gateway id, site),
 * timestamped with the report time so a redelivered report overwrites itself. Counts are the gateway's
 * running totals since `started_at`: dashboards take rates with non_negative_derivative, which also
 * skips the drop to zero when a gateway restarts.
 */
export function gatewayHealthPoint(health: GatewayHealth): BuiltPoints {
  const rejected = Object.entries(health.rejectedByReason);
  const latency = health.publishLatency;
  const named = {
    readings_accepted: Number(health.readingsAccepted),
    rejected: rejected.reduce((sum, [, count]) => sum + Number(count), 0),
    late_readings: Number(health.lateReadings),
    windows_emitted: Number(health.windowsEmitted),
    windows_published: Number(health.windowsPublished),
    publish_errors: Number(health.publishErrors),
    windows_dropped: Number(health.windowsDropped),
    open_windows: health.openWindows,
    outbox_depth: Number(health.outboxDepth),
    outbox_bytes: Number(health.outboxBytes),
    outbox_oldest_age_ms: Number(health.outboxOldestAgeMs),
    outbox_hours_of_outage_left: health.outboxHoursOfOutageLeft,
    publish_in_flight: health.publishInFlight,
    // Only when windows were confirmed since the gateway's previous report: no figure is not zero.
    ...(latency && { publish_latency_mean_ms: latency.meanMs, publish_latency_p50_ms: latency.p50Ms, publish_latency_p99_ms: latency.p99Ms }),
  } satisfies Partial<Record<(typeof GATEWAY_HEALTH_FIELDS)[number], number>>;
  const perReason = Object.fromEntries(rejected.map(([reason, count]) => [`${REJECTED_FIELD_PREFIX}${reason}`, Number(count)]));
  const { fields, dropped } = finiteFields({ ...named, ...perReason });
  const tags = { component: GATEWAY_COMPONENT, instance: health.gatewayId, site: health.siteId } satisfies TagsOf<'pipeline'>;
  return {
    points: [{ measurement: 'pipeline' satisfies Measurement, tags, fields, timestamp: Number(health.reportedAt) }],
    droppedFields: dropped,
  };
}
