// Which loaded model scores a window. A model applies when every sensor of its contract is in the window
// (extra sensors are ignored); when several apply, the most specific wins: the one with the most
// features, then the lowest model name, so the choice is stable. A window that carries some but not all
// of a model's sensors is a contract mismatch (a silent sensor), not "no model": the team should hear
// that a monitored machine lost a sensor.
import type { MachineWindow } from '@pdm/proto';
import type { ModelBundle } from '../model/model-bundle.js';

export type Selection =
  | { kind: 'model'; bundle: ModelBundle }
  | { kind: 'missing_sensors'; bundle: ModelBundle; missing: string[] }
  | { kind: 'no_model' };

/** Orders bundles most specific first; select() relies on that order. */
export function bySpecificity(bundles: Iterable<ModelBundle>): ModelBundle[] {
  return [...bundles].sort(
    (a, b) => b.layout.reads.length - a.layout.reads.length || (a.info.name < b.info.name ? -1 : a.info.name > b.info.name ? 1 : 0),
  );
}

export function selectModel(window: MachineWindow, ordered: readonly ModelBundle[]): Selection {
  const present = new Set(window.sensors.map((s) => s.sensorId));
  let closest: { bundle: ModelBundle; missing: string[]; overlap: number } | undefined;
  for (const bundle of ordered) {
    const missing = bundle.layout.sensors.filter((id) => !present.has(id));
    if (missing.length === 0) return { kind: 'model', bundle };
    const overlap = bundle.layout.sensors.length - missing.length;
    if (overlap > 0 && (closest === undefined || overlap > closest.overlap)) closest = { bundle, missing, overlap };
  }
  return closest ? { kind: 'missing_sensors', bundle: closest.bundle, missing: closest.missing } : { kind: 'no_model' };
}
