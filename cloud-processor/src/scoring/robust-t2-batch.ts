// Batch scoring of a robust Hotelling T² model (model/robust-t2.ts) and, for a model file that has one,
// its slow baseline per machine. The baselines live in memory (machine-states.ts; in the processor also
// in the scorer's state file; a model without a baseline keeps each machine's decided windows only). A
// batch's windows are taken in arrival order, so a machine's windows are decided in order and each
// one's decision depends only on the windows before it. A new model version starts every machine afresh
// at its training location (moved by the machine's own offset when the model was trained on several;
// a machine a class model never saw learns its level from its first hours, which are held), and, for a model that asks
// for it, with its own online threshold (model/online-threshold.ts), kept and saved with the baseline.
import type { RobustT2Bundle } from '../model/model-bundle.js';
import { sensorShares } from '../model/features.js';
import { baselineFor, calibratingFor, expectedFeatures, gapWidening, initialBaseline, learnBaseline, learnMachine, t2Score, thresholdFor, widenAfterGap, type BaselineState } from '../model/robust-t2.js';
import type { BatchItem, KindScore } from './kind-score.js';
import { MachineStates } from './machine-states.js';

export class RobustT2Scoring {
  /** Each machine's baseline: the scorer keeps, saves, restores and forgets them. */
  readonly baselines = new MachineStates<BaselineState>((b) => b.decidedUntil);

  scoreBatch(bundle: RobustT2Bundle, items: readonly BatchItem[]): KindScore[] {
    const { model, layout } = bundle;
    const machines = this.baselines.of(bundle.info);
    const r = new Float64Array(model.d);
    const terms = new Float64Array(model.d);
    const expected = new Float64Array(model.d);
    return items.map(({ window, raw }) => {
      const state = machines.get(window.siteId, window.machineId, () => initialBaseline(model, window.machineId));
      const start = Number(window.windowStart);
      const end = Number(window.windowEnd);
      const isNew = end > state.decidedUntil;
      if (isNew) widenAfterGap(model, state, start);
      // A machine's online threshold learns the score as it would stand without the gap's widening.
      const widening = gapWidening(state);
      const calibrating = calibratingFor(state, end);
      expectedFeatures(model, raw, baselineFor(state, end), expected);
      const threshold = thresholdFor(model, state, end);
      const score = t2Score(model, raw, expected, r, terms);
      learnBaseline(model, state, raw, expected, end - start, end, score > threshold, threshold);
      if (isNew) learnMachine(model, state, raw, expected, score / widening, start, end);
      return { score, threshold, shares: sensorShares(layout, terms), ...(calibrating && { calibrating }) };
    });
  }
}
