// Maps pipeline data to InfluxDB points. Every point of a window has a deterministic timestamp
// (window_start, ms) and tag set, so a redelivered window, or a revision of it, overwrites its own
// point instead of adding one: InfluxDB keys a point by measurement + tags + timestamp.
//
// Revisions: `revision` and `feature_version` are fields, not tags. A revision (late readings) is a
// better version of the same window, so it replaces the point; keeping it as a tag would make every
// query see the window twice. The pipeline refuses to let an older revision overwrite a newer one
// (see pipeline/revision-guard.ts).
import { sensorStatsByName, type MachineWindow } from '@pdm/proto';
import type { IPoint } from 'influx';
import type { WindowScore } from '../model/api.js';
import { MEASUREMENTS } from './measurements.js';

type Fields = Record<string, number | boolean | string>;

/** InfluxDB line protocol has no NaN/Infinity: such a field would fail the whole batch, forever. */
function finiteFields(fields: Fields): { fields: Fields; dropped: number } {
  const out: Fields = {};
  let dropped = 0;
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'number' && !Number.isFinite(value)) dropped++;
    else out[name] = value;
  }
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
  const points = window.sensors.map((s): IPoint => {
    const { fields, dropped } = finiteFields({
      ...sensorStatsByName(s),
      revision: window.revision,
      feature_version: window.featureVersion,
      window_ms: Number(window.windowEnd - window.windowStart),
    });
    droppedFields += dropped;
    return {
      measurement: MEASUREMENTS.features,
      tags: { site: window.siteId, gateway: window.gatewayId, machine: window.machineId, sensor: s.sensorId },
      fields,
      timestamp,
    };
  });
  return { points, droppedFields };
}

export function anomalyPoint(score: WindowScore): BuiltPoints {
  const contributions = Object.fromEntries(Object.entries(score.contributions).map(([sensor, share]) => [`contrib_${sensor}`, share]));
  const { fields, dropped } = finiteFields({
    score: score.score,
    threshold: score.threshold,
    is_anomaly: score.isAnomaly,
    model_version: score.modelVersion,
    ...contributions,
  });
  return {
    points: [{ measurement: MEASUREMENTS.anomaly, tags: { site: score.siteId, machine: score.machineId, model: score.model }, fields, timestamp: score.windowStart }],
    droppedFields: dropped,
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
}

export function alertPoint(alert: AlertPointInput): IPoint {
  return {
    measurement: MEASUREMENTS.alerts,
    tags: { machine: alert.machineId, state: alert.state },
    fields: finiteFields({ score: alert.score, message: alert.message, alert_id: alert.alertId, site: alert.siteId }).fields,
    timestamp: alert.windowEnd,
  };
}

export function pipelinePoint(component: string, instance: string, values: Record<string, number>, timestamp: number): IPoint {
  return { measurement: MEASUREMENTS.pipeline, tags: { component, instance }, fields: finiteFields(values).fields, timestamp };
}
