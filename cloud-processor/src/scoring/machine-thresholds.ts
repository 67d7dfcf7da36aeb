// Each machine's own online threshold (model/online-threshold.ts) for the kinds whose score needs no
// other per-machine state — pca and the autoencoder score a window by itself —, kept here by model
// version and machine as robust-t2 keeps it in its baseline. The kind scores the batch against its trained
// threshold; each window is then judged against its machine's threshold, and a window newer than every
// one decided before teaches it, in arrival order: a window's decision depends only on the windows that
// ended before it. A redelivered window is judged against the threshold it was decided against, while
// the machine's newest decisions hold it (MODEL_DEFAULTS.scorer.recentDecisions).
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { currentThreshold, initialOnlineThreshold, learnOnlineThreshold, type OnlineThresholdSpec, type OnlineThresholdState } from '../model/online-threshold.js';
import type { BatchItem, KindScore } from './kind-score.js';
import { MachineStates, type ModelIdentity } from './machine-states.js';

/** One machine's online threshold under one model version, as the state file stores it. */
export interface MachineThreshold {
  online: OnlineThresholdState;
  /** windowEnd (epoch ms) of the newest window decided. */
  decidedUntil: number;
  /** The newest windows decided and the threshold each was judged against, oldest first. */
  recent: { windowEnd: number; threshold: number }[];
}

export class MachineThresholds {
  /** Each machine's threshold: the scorer keeps, saves, restores and forgets them. */
  readonly states = new MachineStates<MachineThreshold>((s) => s.decidedUntil);

  /** `scores` (the kind's, against its trained threshold) with each window's threshold its machine's; the new windows teach it. */
  judge(model: ModelIdentity, spec: OnlineThresholdSpec, items: readonly BatchItem[], scores: readonly KindScore[]): KindScore[] {
    const machines = this.states.of(model);
    return items.map(({ window }, i) => {
      const own = scores[i]!;
      const trained = own.threshold;
      const state = machines.get(window.siteId, window.machineId, () => ({ online: initialOnlineThreshold(), decidedUntil: -Infinity, recent: [] }));
      const start = Number(window.windowStart);
      const end = Number(window.windowEnd);
      if (end <= state.decidedUntil) {
        const decided = state.recent.find((r) => r.windowEnd === end);
        return { ...own, threshold: decided?.threshold ?? currentThreshold(state.online, trained) };
      }
      const threshold = currentThreshold(state.online, trained);
      learnOnlineThreshold(state.online, spec, end - start, own.score, trained);
      state.decidedUntil = end;
      state.recent.push({ windowEnd: end, threshold });
      if (state.recent.length > MODEL_DEFAULTS.scorer.recentDecisions) state.recent.shift();
      return { ...own, threshold };
    });
  }
}
