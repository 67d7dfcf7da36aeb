// Per-machine alert hysteresis, K of N: an alert opens when at least `openAfter` (K) of the machine's
// last `within` (N) counted windows are anomalous, and resolves after `resolveAfter` (M) consecutive
// normal ones, so one noisy window neither raises nor clears an alert, while a fault whose score
// flickers around the threshold (A, N, A, ...) still opens one; N = K is K in a row. Each window is
// judged by its model's own rule when the score carries one, else by the tracker's.
// The rule is a pure step over a machine's MachineAlertState (plain data, so the processor can keep it
// in InfluxDB and any instance can carry on from it: alert-store.ts); AlertTracker keeps the states in
// memory for one process (`pdm score`).
// Windows are counted once: a redelivered, revised or out-of-order window (window_start not after the
// last one counted for its machine) is ignored. Which revision of a window counts is the processor's
// rule (AlertDispatcher: revision 0, or the next after an unfit revision 0); `pdm score` has none.
import type { AlertRule, WindowScore } from '../model/api.js';
import { machineKey } from '../shared/machine-key.js';

/** Windows beyond K that the default N looks at: two normal windows inside a fault do not restart the count. */
export const DEFAULT_ALERT_SLACK = 2;

/**
 * 3 of the last 5: measured on the simulated fleet (gated models, 5.3 machine-days), it opens the
 * fan's overheating alert 1.9 h before failure where 3 in a row never opened it, with no false alert
 * either way (2 of 3: 0.38 false alerts per machine-day).
 */
export const ALERT_DEFAULTS = {
  openAfter: 3,
  within: 3 + DEFAULT_ALERT_SLACK,
  resolveAfter: 5,
} as const satisfies AlertRule;

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
  /** The episode opened while its machine was muted: its transitions are recorded, not delivered (announceAfterMute). */
  suppressed?: true;
}

/** What the rule remembers of one machine: plain data (JSON as it is, once a window was counted). */
export interface MachineAlertState {
  /** window_start of the newest window counted; -Infinity before the first. */
  lastWindowStart: number;
  /** isAnomaly of the newest counted windows, oldest first; at most the rule's N. */
  recent: boolean[];
  normalRun: number;
  open?: { alertId: string; openedAt: number; suppressed?: true };
  /** window_end of the newest window counted (the processor keeps state per window: alert-store.ts). */
  lastWindowEnd?: number;
  /** The revision of the newest window counted, when the processor counted it. */
  lastRevision?: number;
}

export function newAlertState(): MachineAlertState {
  return { lastWindowStart: Number.NEGATIVE_INFINITY, recent: [], normalRun: 0 };
}

export function copyAlertState(state: MachineAlertState): MachineAlertState {
  return { ...state, recent: [...state.recent], ...(state.open && { open: { ...state.open } }) };
}

/**
 * Whether two states decide every later window alike: the same recent decisions and open alert, and,
 * while an alert is open, the same quiet run (closed, the run is never read: an anomalous window
 * resets it before an alert can open). Which window they were counted after does not matter.
 */
export function decideAlike(a: MachineAlertState, b: MachineAlertState): boolean {
  return (
    a.recent.length === b.recent.length &&
    a.recent.every((anomalous, i) => anomalous === b.recent[i]) &&
    a.open?.alertId === b.open?.alertId &&
    a.open?.openedAt === b.open?.openedAt &&
    (a.open === undefined || a.normalRun === b.normalRun)
  );
}

/** Whether the window counts for this state: only windows after the last one counted do. */
export function countsFor(state: MachineAlertState, score: WindowScore): boolean {
  return score.windowStart > state.lastWindowStart;
}

/**
 * Counts one window into its machine's state (changing `state`) and returns the transition it caused.
 * Deterministic: the same state and window give the same result (alert id included) in any process.
 */
export function stepAlertState(state: MachineAlertState, score: WindowScore, defaultRule: AlertRule): AlertTransition | undefined {
  if (!countsFor(state, score)) return undefined;
  state.lastWindowStart = score.windowStart;
  state.lastWindowEnd = score.windowEnd;
  const rule = score.alertRule ?? defaultRule;
  state.recent.push(score.isAnomaly);
  // Keep the rule's N newest; a rule with a larger N (a new model version's) counts over what is kept.
  if (state.recent.length > rule.within) state.recent.splice(0, state.recent.length - rule.within);
  if (score.isAnomaly) {
    state.normalRun = 0;
    const anomalous = state.recent.filter(Boolean).length;
    if (!state.open && anomalous >= rule.openAfter) {
      state.open = { alertId: `${score.machineId}-${score.windowEnd}`, openedAt: score.windowEnd };
      const which =
        anomalous === 1 ? '1 anomalous window' : anomalous === state.recent.length ? `${anomalous} consecutive anomalous windows` : `${anomalous} of the last ${state.recent.length} windows anomalous`;
      return transition('open', state.open, score, `${which} (score ${score.score.toFixed(2)} > threshold ${score.threshold.toFixed(2)})`);
    }
  } else {
    state.normalRun++;
    if (state.open && state.normalRun >= rule.resolveAfter) {
      const open = state.open;
      state.open = undefined;
      // The windows of the episode just resolved do not count towards the next one: like the
      // first, it opens on K anomalous windows seen after this point.
      state.recent = [];
      return transition('resolved', open, score, `${state.normalRun} consecutive normal windows`);
    }
  }
  return undefined;
}

/**
 * Resolves the open episode by hand (`pdm alerts resolve`) at the machine's next window, which closes
 * it in place of the rule (changing `state`); as after any resolve, the next episode opens on K
 * anomalous windows counted after this one. Undefined when no episode is open or the window does not count.
 */
export function resolveByHand(state: MachineAlertState, score: WindowScore, by: { who: string; note?: string }): AlertTransition | undefined {
  const open = state.open;
  if (!open || !countsFor(state, score)) return undefined;
  state.lastWindowStart = score.windowStart;
  state.lastWindowEnd = score.windowEnd;
  state.open = undefined;
  state.recent = [];
  state.normalRun = 0;
  return transition('resolved', open, score, `resolved by hand by ${by.who}${by.note ? `: ${by.note}` : ''}`);
}

/**
 * Announces an episode that opened while its machine was muted, at an anomalous window counted after
 * the mute (changing `state`): a fault that outlasts the maintenance is not kept quiet, as a silence
 * that ends lets a still-firing alert through. From here it is an alert like any other, opened for the
 * people and the targets at this window (its id unchanged), its resolve delivered too. An episode
 * that stays quiet after the mute resolves unannounced. Undefined when there is nothing to announce.
 */
export function announceAfterMute(state: MachineAlertState, score: WindowScore): AlertTransition | undefined {
  const open = state.open;
  if (open?.suppressed !== true || !score.isAnomaly) return undefined;
  state.open = { alertId: open.alertId, openedAt: score.windowEnd };
  const since = new Date(open.openedAt).toISOString();
  return transition('open', state.open, score, `still anomalous after a mute (opened during it at ${since}; score ${score.score.toFixed(2)} > threshold ${score.threshold.toFixed(2)})`);
}

function transition(state: AlertTransition['state'], open: { alertId: string; openedAt: number }, score: WindowScore, message: string): AlertTransition {
  return { state, alertId: open.alertId, siteId: score.siteId, machineId: score.machineId, openedAt: open.openedAt, score, message };
}

/** The rule over every machine, in memory: one process's view (`pdm score`). */
export class AlertTracker {
  private readonly machines = new Map<string, MachineAlertState>();

  constructor(private readonly rule: AlertRule = ALERT_DEFAULTS) {}

  observe(score: WindowScore): AlertTransition | undefined {
    const key = machineKey(score);
    const state = this.machines.get(key) ?? newAlertState();
    this.machines.set(key, state);
    return stepAlertState(state, score, this.rule);
  }

  openCount(): number {
    let count = 0;
    for (const state of this.machines.values()) if (state.open) count++;
    return count;
  }
}
