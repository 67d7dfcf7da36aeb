// Per-machine alert hysteresis: an alert opens after `openAfter` consecutive anomalous windows and
// resolves after `resolveAfter` consecutive normal ones, so one noisy window neither raises nor clears
// an alert. State is in memory: after a restart it rebuilds from the windows that arrive next (an
// alert open before the restart is neither re-raised nor resolved until the hysteresis sees K/M new
// windows). Windows are counted once: a redelivered, revised or out-of-order window (window_start
// not after the last one counted for its machine) is ignored.
import type { WindowScore } from '../model/api.js';

export const ALERT_DEFAULTS = {
  /** K: consecutive anomalous windows that open an alert. */
  openAfter: 3,
  /** M: consecutive normal windows that resolve it. */
  resolveAfter: 5,
} as const;

export interface AlertTransition {
  state: 'open' | 'resolved';
  /** Stable id of the episode: the same on its open and resolved transitions. */
  alertId: string;
  siteId: string;
  machineId: string;
  openedAt: number;
  /** The window that caused this transition. */
  score: WindowScore;
  message: string;
}

interface MachineState {
  lastWindowStart: number;
  anomalousRun: number;
  normalRun: number;
  open?: { alertId: string; openedAt: number };
}

export class AlertTracker {
  private readonly machines = new Map<string, MachineState>();

  constructor(private readonly options: { openAfter: number; resolveAfter: number } = ALERT_DEFAULTS) {}

  observe(score: WindowScore): AlertTransition | undefined {
    const key = `${score.siteId}/${score.machineId}`;
    const state = this.machines.get(key) ?? { lastWindowStart: Number.NEGATIVE_INFINITY, anomalousRun: 0, normalRun: 0 };
    this.machines.set(key, state);
    if (score.windowStart <= state.lastWindowStart) return undefined;
    state.lastWindowStart = score.windowStart;
    if (score.isAnomaly) {
      state.anomalousRun++;
      state.normalRun = 0;
      if (!state.open && state.anomalousRun >= this.options.openAfter) {
        state.open = { alertId: `${score.machineId}-${score.windowEnd}`, openedAt: score.windowEnd };
        return this.transition('open', state.open, score, `${state.anomalousRun} consecutive anomalous windows (score ${score.score.toFixed(2)} > threshold ${score.threshold.toFixed(2)})`);
      }
    } else {
      state.normalRun++;
      state.anomalousRun = 0;
      if (state.open && state.normalRun >= this.options.resolveAfter) {
        const open = state.open;
        state.open = undefined;
        return this.transition('resolved', open, score, `${state.normalRun} consecutive normal windows`);
      }
    }
    return undefined;
  }

  openCount(): number {
    let count = 0;
    for (const state of this.machines.values()) if (state.open) count++;
    return count;
  }

  private transition(state: AlertTransition['state'], open: { alertId: string; openedAt: number }, score: WindowScore, message: string): AlertTransition {
    return { state, alertId: open.alertId, siteId: score.siteId, machineId: score.machineId, openedAt: open.openedAt, score, message };
  }
}
