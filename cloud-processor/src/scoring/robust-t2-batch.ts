// Batch scoring of a robust Hotelling T² model with its slow baseline per machine (model/robust-t2.ts).
// The baselines live here, in memory, keyed by model, version, site and machine: the same object serves
// `pdm score` and the processor, so both decide every window the same way. A batch's windows are taken
// in arrival order, so a machine's windows are decided in order and each one's decision depends only on
// the windows before it. A new model version starts every machine afresh at its own training location.
import type { RobustT2Bundle } from '../model/model-bundle.js';
import { baselineFor, initialBaseline, learnBaseline, sensorShares, t2Score, type BaselineState } from '../model/robust-t2.js';
import type { BatchItem, KindScore } from './kind-score.js';

export class RobustT2Scoring {
  /** `${model}@${version}` → `${site}/${machine}` (as the alert tracker keys machines) → its baseline. */
  private readonly baselines = new Map<string, Map<string, BaselineState>>();

  scoreBatch(bundle: RobustT2Bundle, items: readonly BatchItem[]): KindScore[] {
    const { model, layout } = bundle;
    const key = versionKey(bundle.info.name, bundle.info.version);
    let machines = this.baselines.get(key);
    if (machines === undefined) this.baselines.set(key, (machines = new Map<string, BaselineState>()));
    const r = new Float64Array(model.d);
    const terms = new Float64Array(model.d);
    return items.map(({ window, raw }) => {
      const machine = machineKey(window.siteId, window.machineId);
      let state = machines.get(machine);
      if (state === undefined) machines.set(machine, (state = initialBaseline(model)));
      const score = t2Score(model, raw, baselineFor(state, Number(window.windowEnd)), r, terms);
      const exceeded = score > model.threshold;
      learnBaseline(model, state, raw, Number(window.windowEnd - window.windowStart), Number(window.windowEnd), exceeded);
      return { score, threshold: model.threshold, shares: sensorShares(layout, terms) };
    });
  }

  /** The baseline a machine is scored against now (undefined before its first window). */
  baselineOf(name: string, version: string, siteId: string, machineId: string): Readonly<BaselineState> | undefined {
    return this.baselines.get(versionKey(name, version))?.get(machineKey(siteId, machineId));
  }

  /** Forgets the baselines of model versions no longer served. */
  retainOnly(served: readonly { info: { name: string; version: string } }[]): void {
    const keep = new Set(served.map((b) => versionKey(b.info.name, b.info.version)));
    for (const key of this.baselines.keys()) if (!keep.has(key)) this.baselines.delete(key);
  }
}

/** Machine ids are unique within a site only: two sites may both have a pump-1. */
function machineKey(siteId: string, machineId: string): string {
  return `${siteId}/${machineId}`;
}

function versionKey(name: string, version: string): string {
  return `${name}@${version}`;
}
