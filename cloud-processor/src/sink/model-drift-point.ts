// A served model version's drift (scoring/drift.ts) as a `model_drift` point: its worst feature PSI, that
// feature, the retrain threshold the processor judged it by, the windows counted, and one
// `psi_<feature>` field per feature. Tagged with the processor instance: each counts the windows it
// scored, and instances sharing a subscription see different machines.
import type { IPoint } from 'influx';
import type { ModelDrift } from '../scoring/drift.js';
import { DRIFT_FIELD_PREFIX, type FieldOf, type Measurement, type TagOf } from './influx-series.js';

export function modelDriftPoint(drift: ModelDrift, instance: string, threshold: number, timestamp: number): IPoint {
  const named = { psi: drift.psi, feature: drift.feature, threshold, windows: drift.windows } satisfies Record<FieldOf<'model_drift'>, number | string>;
  const perFeature = Object.fromEntries(Object.entries(drift.features).map(([feature, psi]) => [`${DRIFT_FIELD_PREFIX}${feature}`, psi]));
  return {
    measurement: 'model_drift' satisfies Measurement,
    tags: { instance, model: drift.model, version: drift.version } satisfies Record<TagOf<'model_drift'>, string>,
    fields: { ...named, ...perFeature },
    timestamp,
  };
}
