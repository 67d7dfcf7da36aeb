// What the processor does with each scored window for alerting. The machine's alert state is loaded
// from the store (whoever counted its previous window: this processor, another one sharing the
// subscription, or this one before a restart), the window is counted, and the new state is stored
// with the transition it caused (its `alerts` point and delivery record) before observe() resolves,
// which is before the window is acked. A failure rejects: the window is nacked and counted again on
// redelivery from the same stored state. Delivery to the topic and webhook then runs in the background
// (alert-delivery.ts), never holding the window's ack, once the window's own points are stored too.
//
// What this relies on: a machine's windows are counted in order, one after another — the ordering key
// (machine id) has Pub/Sub deliver them in order, the transport hands a key's messages over one at a
// time, and a window is acked only after its state is stored, so the processor that gets the next
// window (any of them) loads the state this one stored.
//
// The rule, enforced here: each (machine, window start) counts once, with its revision 0; a later
// revision (a late reading, a trailing sensor) is stored and scored but never counted, and a window at
// or before the newest one counted — in the stored state, or by this processor — is never counted. One
// exception: a revision 0 this processor saw but could not score (its features did not fit the model:
// under clock skew revision 0 lacks the trailing sensor, and every window of such a machine comes as a
// partial revision 0 then a complete revision 1) hands its count to the next revision of that window
// this processor sees — the same ordering key brings it here next, unless the processor restarted or
// the key moved in between, when the window does not count. Without it a machine with a lagging
// sensor would never raise an alert.
// Why revision 0 only, rather than the first revision to arrive: the stored state may lag the windows
// counted (a state that decides later windows alike is not stored, below), so after a restart or a key
// move a processor cannot tell whether a later revision's window was already counted, and counting it
// again from the older state could open an alert no processor would have opened. A redelivery of a
// revision 0 counted elsewhere but not yet acked there is counted from the same stored state (or one
// that decides alike) with the same content, so it makes the same decision and writes the same points
// (the same alert id; its delivery may be repeated: at least once). What it costs: a window whose
// revision 0 was not scored (it did not fit the model contract, or a later revision reached the
// processor first and revision 0 was skipped as older), unless the exception above applies, does not
// count towards alerts.
//
// Cost per window: the state is loaded unless this processor counted the machine's window just before
// (window start - window length); and it is stored only when it decides later windows
// differently or caused a transition (a machine running normally stores nothing), so `alert_state`
// holds the newest window that changed the state, and a revision 0 after it counted again elsewhere
// changes nothing.
//
// People's actions (alert-actions.ts) apply at a machine's next window counted after the processor
// read them: a resolve by hand closes the open episode at that window instead of the rule, and an
// episode that opens while its machine is muted is recorded (state, `alerts` point marked suppressed,
// its resolve too) but not delivered — unless it is still anomalous after the mute: its first
// anomalous window after it announces it (alert-tracker.ts announceAfterMute).
import type { Logger } from 'pino';
import type { AlertRule, WindowScore } from '../model/api.js';
import type { ProcessorMetrics } from '../ops/metrics.js';
import type { AlertObserver } from '../pipeline/window-pipeline.js';
import { NO_ACTIONS, type ProcessorActions } from './alert-actions.js';
import type { AlertDeliveries } from './alert-delivery.js';
import type { AlertStore, DeliveryRecord, MachineRef } from './alert-store.js';
import { announceAfterMute, copyAlertState, countsFor, decideAlike, newAlertState, resolveByHand, stepAlertState, type AlertTransition, type MachineAlertState } from './alert-tracker.js';
import type { Clock } from '@pdm/clock';
import { machineKey } from '../shared/machine-key.js';

export class AlertDispatcher implements AlertObserver {
  /** Per machine, the last window's work: one machine's windows are counted one after another here too. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Machines whose newest state this processor stored has an open alert (for the open-alerts gauge). */
  private readonly openHere = new Map<string, number>();
  /** Per machine, the state after the newest window this processor counted (stored, or alike to the one stored). */
  private readonly counted = new Map<string, MachineAlertState>();
  /** Per machine, the start of a window whose revision 0 this processor could not score: its next revision counts. */
  private readonly unfitRevision0 = new Map<string, number>();
  /** Per machine, the delivery of a window whose points failed after its decision was stored: its redelivery here delivers it. */
  private readonly awaitingPoints = new Map<string, { windowStart: number; delivery: DeliveryRecord }>();

  constructor(
    private readonly rule: AlertRule,
    private readonly store: AlertStore,
    private readonly deliveries: AlertDeliveries,
    private readonly metrics: ProcessorMetrics,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly actions: { current(): Promise<ProcessorActions> } = NO_ACTIONS,
  ) {}

  /** Revision 0 of a window did not fit the model: the next revision of it seen here counts instead. */
  unfit(window: { siteId: string; machineId: string; windowStart: number }, revision: number): void {
    if (revision === 0) this.unfitRevision0.set(machineKey(window), window.windowStart);
  }

  /**
   * `revision`: the window's; one above 0 is counted only after an unfit revision 0 of the same window
   * (unfit). Unset, it is counted and the state is always loaded. `pointsStored`: the window's own
   * points written; the transition is delivered only after it.
   */
  observe(score: WindowScore, revision?: number, pointsStored: Promise<unknown> = Promise.resolve()): Promise<void> {
    const key = machineKey(score);
    // A later revision counts in place of an unfit revision 0 — or it is the redelivery of one whose
    // decision was stored and whose points were not (count() delivers that decision once they are).
    const takesTurn = revision !== undefined && revision > 0 && this.awaitingPoints.get(key)?.windowStart !== score.windowStart;
    if (takesTurn) {
      if (this.unfitRevision0.get(key) !== score.windowStart) return Promise.resolve();
      this.unfitRevision0.delete(key);
    }
    const previous = this.chains.get(key) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(() => this.count(score, key, revision, pointsStored));
    this.chains.set(key, current);
    void current
      .catch(() => {
        // Not counted (the store failed): the window's redelivery takes the turn again.
        if (takesTurn && !this.unfitRevision0.has(key)) this.unfitRevision0.set(key, score.windowStart);
      })
      .finally(() => {
        if (this.chains.get(key) === current) this.chains.delete(key);
      });
    return current;
  }

  private async count(score: WindowScore, key: string, revision: number | undefined, pointsStored: Promise<unknown>): Promise<void> {
    // The machine's next window here is the redelivery of the one whose points failed (machine-lanes.ts
    // holds later ones back), unless that one was dead-lettered or went elsewhere: its record, pending
    // in the store, is then left to a sweep.
    const awaiting = this.awaitingPoints.get(key);
    this.awaitingPoints.delete(key);
    if (awaiting?.windowStart === score.windowStart) {
      this.deliverOnceStored(key, score.windowStart, awaiting.delivery, pointsStored);
      return;
    }
    const machine: MachineRef = { siteId: score.siteId, machineId: score.machineId };
    const before = await this.stateBefore(score, key, machine, revision);
    if (!before || !countsFor(before, score)) return;
    const state = copyAlertState(before);
    const transition = this.step(state, score, machine, await this.actions.current());
    if (revision !== undefined) state.lastRevision = revision;
    const now = this.clock.now();
    const targets = this.deliveries.targetNames();
    const delivered = transition && !transition.suppressed && targets.length > 0;
    const delivery: DeliveryRecord | undefined = delivered ? { transition, pending: targets, attempts: 0, createdAt: now, updatedAt: now } : undefined;
    if (transition || !decideAlike(before, state)) await this.store.save(state, machine, transition, delivery);
    this.counted.set(key, state);
    if (state.open) this.openHere.set(key, score.windowStart);
    else this.openHere.delete(key);
    this.metrics.openAlerts.set(this.openHere.size);
    if (!transition) return;
    this.metrics.alerts.inc({ state: transition.state });
    this.log.info(
      { alertId: transition.alertId, machine: transition.machineId, state: transition.state, score: score.score, ...(transition.suppressed && { suppressed: true }) },
      `alert ${transition.state}${transition.suppressed ? ' (suppressed: machine muted)' : ''}`,
    );
    if (delivery) this.deliverOnceStored(key, score.windowStart, delivery, pointsStored);
  }

  /**
   * The decision may be stored before the window's points (it joins whatever batch is open), but no
   * one is told of an alert whose window's features are not stored: delivery waits for them.
   */
  private deliverOnceStored(key: string, windowStart: number, delivery: DeliveryRecord, pointsStored: Promise<unknown>): void {
    pointsStored.then(
      () => this.deliveries.deliver(delivery),
      () => this.awaitingPoints.set(key, { windowStart, delivery }),
    );
  }

  /** Counts the window into `state` (changing it), a resolve by hand first; marks the episodes opened during a mute. */
  private step(state: MachineAlertState, score: WindowScore, machine: MachineRef, actions: ProcessorActions): AlertTransition | undefined {
    const wasSuppressed = state.open?.suppressed === true;
    const byHand = state.open && actions.resolvedByHand(state.open.alertId);
    const transition = byHand ? resolveByHand(state, score, byHand) : stepAlertState(state, score, this.rule);
    if (!transition) return wasSuppressed && actions.muteAt(machine, score.windowEnd) === undefined ? announceAfterMute(state, score) : undefined;
    const muted = transition.state === 'open' ? actions.muteAt(machine, score.windowEnd) !== undefined : wasSuppressed;
    if (!muted) return transition;
    if (state.open) state.open.suppressed = true;
    return { ...transition, suppressed: true };
  }

  /** The state the window is counted on; undefined when this processor already counted this window or a newer one. */
  private async stateBefore(score: WindowScore, key: string, machine: MachineRef, revision: number | undefined): Promise<MachineAlertState | undefined> {
    const mine = this.counted.get(key);
    if (mine && score.windowStart <= mine.lastWindowStart) return undefined;
    // Both revision 0 (an unset revision may be a later one): no window lies between the two, and this
    // window, if another processor counted it too, was counted there from a state that decides alike.
    const follows = mine !== undefined && revision === 0 && mine.lastRevision === 0 && mine.lastWindowStart === score.windowStart - (score.windowEnd - score.windowStart);
    if (follows) return mine;
    const stored = await this.store.load(machine);
    // What this processor counted last may be newer than the newest stored point (a window that changed nothing is not stored).
    if (mine && (!stored || stored.lastWindowStart < mine.lastWindowStart)) return mine;
    return stored ?? newAlertState();
  }
}
