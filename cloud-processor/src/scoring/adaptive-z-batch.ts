// Batch scoring of the adaptive-z kind (model/adaptive-z.ts): each machine's history lives in memory
// (machine-states.ts; in the processor also in the scorer's state file), starting from the model's
// training series. A batch's windows are taken in arrival order, so a machine's windows are decided in
// order and each one's score depends only on the windows before it. The window slots between a machine's
// previous window (or the end of the training series) and the next are holes in its history, so its lags
// stay in time across an outage.
import { skipWindows, stepWindow, warmState, type FeatureState } from '../model/adaptive-z.js';
import { sensorShares } from '../model/features.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import type { AdaptiveZBundle } from '../model/model-bundle.js';
import type { BatchItem, KindScore } from './kind-score.js';
import { MachineStates } from './machine-states.js';

export interface MachineHistory {
  features: FeatureState[];
  /** windowEnd (epoch ms) of the newest window scored so far; -Infinity when none. */
  decidedUntil: number;
  /**
   * The newest decided windows' scores, oldest first: a window scored again (a redelivery after a failed
   * write, a late revision) gets the score it got the first time, so its points overwrite themselves
   * with the same content.
   */
  recent: { windowEnd: number; score: number; zs: number[] }[];
}

export class AdaptiveZScoring {
  /** Each machine's history: the scorer keeps, saves, restores and forgets them. */
  readonly histories = new MachineStates<MachineHistory>((h) => h.decidedUntil);
  /** Per model, the state at the end of its training series: computed once, copied for each new machine. */
  private readonly warm = new WeakMap<AdaptiveZBundle, FeatureState[]>();

  scoreBatch(bundle: AdaptiveZBundle, items: readonly BatchItem[]): KindScore[] {
    const { model, layout } = bundle;
    const machines = this.histories.of(bundle.info);
    const zs = new Float64Array(model.features.length);
    return items.map(({ window, raw }) => {
      const history = machines.get(window.siteId, window.machineId, () => ({ features: structuredClone(this.warmStateOf(bundle)), decidedUntil: -Infinity, recent: [] }));
      const windowEnd = Number(window.windowEnd);
      let score: number;
      if (windowEnd > history.decidedUntil) {
        const previousEnd = Number.isFinite(history.decidedUntil) ? history.decidedUntil : (model.historyEnd ?? windowEnd);
        const missed = Math.round((windowEnd - previousEnd) / bundle.info.windowMs) - 1;
        if (missed > 0) skipWindows(model, history.features, missed);
        score = stepWindow(model, history.features, raw, zs);
        history.decidedUntil = windowEnd;
        history.recent.push({ windowEnd, score, zs: [...zs] });
        if (history.recent.length > MODEL_DEFAULTS.scorer.recentDecisions) history.recent.shift();
      } else {
        const known = history.recent.find((r) => r.windowEnd === windowEnd);
        if (known !== undefined) {
          score = known.score;
          zs.set(known.zs);
        } else {
          // Older than every remembered window: scored against the history as it is now, which it does not change.
          score = stepWindow(model, structuredClone(history.features), raw, zs);
        }
      }
      return { score, threshold: model.threshold, shares: sensorShares(layout, zs) };
    });
  }

  private warmStateOf(bundle: AdaptiveZBundle): FeatureState[] {
    let state = this.warm.get(bundle);
    if (state === undefined) this.warm.set(bundle, (state = warmState(bundle.model)));
    return state;
  }
}
