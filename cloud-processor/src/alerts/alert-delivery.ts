// Delivers alert transitions to their targets (the `alerts` Pub/Sub topic, the webhook) in the
// background, each target retried with back-off until it confirms. The transition's delivery record
// is stored with the alert state before the window is acked (alert-store.ts), so a delivery outlives
// the processor that started it:
// - while a processor holds a record (sending, in back-off, or waiting behind another), it refreshes
//   the record's `updated_at` on every failed attempt and at least every takeoverAfterMs / 3, and an
//   attempt that has not answered within the target's `timeoutMs` counts as failed, so a slow target
//   never makes a live delivery look abandoned;
// - on stop, deliveries still pending are released (`updated_at` 0) for the next sweep, and nothing
//   is sent or scheduled here after it (an attempt in flight is left unheard, its timeout cancelled);
// - every `sweepIntervalMs` (and at start) each processor takes over the pending records not updated
//   for `takeoverAfterMs` (released, or left by a processor that died), oldest window first: of windows
//   ended within `giveUpAfterMs`, and of every window at start and once per `takeoverAfterMs`. A record
//   taken over that is already `giveUpAfterMs` old is given up at once (its holder died before it could
//   give it up), so the resolve waiting for that open goes at its next check instead of waiting too.
// Two processors sweeping at the same moment may both take over one record and both send it: the store
// (InfluxDB) has no compare-and-set to claim a record with; receivers deduplicate anyway (below).
// A machine's transitions reach each target in order: one waits for the one before it (same target,
// same machine) to be confirmed or given up, so a resolve never overtakes its open after an outage.
// Across processors too: a resolve whose open is still pending for a target in the store (held by
// another processor, or left by a dead one until a sweep takes it over) waits for it, re-checking on
// the target's back-off.
// Guarantee: at least once per target, with the alert id stable across open and resolve and across
// processors, so receivers deduplicate on (alert id, state). Bounded: a target is given up after its
// `maxAttempts`, on an answer that retrying cannot change (a webhook's 4xx), or once the record is
// `giveUpAfterMs` old; every failed attempt and every give-up is counted.
import { backoffDelay, every, type BackoffOptions, type Cancel, type Clock } from '@pdm/clock';
import type { Logger } from 'pino';
import { describeError } from '../shared/describe-error.js';
import type { AlertTransition } from './alert-tracker.js';
import type { AlertStore, DeliveryKey, DeliveryRecord } from './alert-store.js';

export const ALERT_DELIVERY_DEFAULTS = {
  /** Between attempts of a target without a back-off of its own (the topic). */
  backoff: { initialMs: 1_000, multiplier: 2, maxMs: 60_000 },
  /** One publish to the alerts topic, at most (the client's own default is 600 s); below takeoverAfterMs. */
  publishTimeoutMs: 60_000,
  /** A transition not delivered within this long is given up (an alert a day old is news no more). */
  giveUpAfterMs: 24 * 3_600_000,
  /** A pending record not updated for this long belongs to no live processor; more than any back-off or send timeout. */
  takeoverAfterMs: 5 * 60_000,
  sweepIntervalMs: 60_000,
  /** On stop, what deliveries in progress get before they are released. */
  stopTimeoutMs: 10_000,
};

export interface AlertDeliveryOptions {
  giveUpAfterMs: number;
  takeoverAfterMs: number;
  sweepIntervalMs: number;
}

/** An answer that retrying cannot change: the target is given up at once. */
export class DeliveryRefused extends Error {}

export interface DeliveryTarget {
  readonly name: string;
  readonly backoff: BackoffOptions;
  /** Attempts per transition, the first included (Infinity: until the record is giveUpAfterMs old). */
  readonly maxAttempts: number;
  /** Transitions held for this target at once; beyond, it is given up for new ones. Unset: no bound. */
  readonly maxPending?: number;
  /** An attempt not answered within this long counts as failed (a later answer is ignored). Unset: no bound. */
  readonly timeoutMs?: number;
  /** One attempt; resolves once the target confirmed. Rejects with DeliveryRefused when retrying cannot help. */
  send(transition: AlertTransition): Promise<void>;
}

export interface AlertDeliveryEvents {
  /** A failed attempt. */
  failed?(target: string): void;
  /** A target given up for a transition. */
  abandoned?(target: string): void;
  /** Transitions this processor is delivering now. */
  pending?(count: number): void;
}

interface Delivery {
  record: DeliveryRecord;
  remaining: Set<string>;
  /** Per target, the next attempt scheduled (after a failure, or a resolve re-checking its open). */
  retries: Map<string, Cancel>;
  /** Per target, failed attempts so far. */
  failures: Map<string, number>;
  /** Per target, how often a resolve found its open still pending. */
  waits: Map<string, number>;
  /** Targets with an attempt in flight: nothing is queued before it for them. */
  sending: Set<string>;
  /** Per target, bumped whenever an attempt starts or is called off, so a check that comes back late is dropped. */
  turns: Map<string, number>;
}

const deliveryKey = (t: DeliveryKey) => `${t.siteId}\u0000${t.machineId}\u0000${t.state}\u0000${t.windowEnd}`;
const keyOf = (t: AlertTransition): DeliveryKey => ({ siteId: t.siteId, machineId: t.machineId, state: t.state, windowEnd: t.score.windowEnd });
/** The open of a resolve's episode: the open transition's window ended when the alert opened. */
const openOf = (t: AlertTransition): DeliveryKey => ({ siteId: t.siteId, machineId: t.machineId, state: 'open', windowEnd: t.openedAt });
const laneKey = (target: string, t: AlertTransition) => `${target}\u0000${t.siteId}\u0000${t.machineId}`;

export class AlertDeliveries {
  private readonly targets: Map<string, DeliveryTarget>;
  private readonly active = new Map<string, Delivery>();
  /** Per target and machine, the deliveries not settled for that target, oldest first; only the head is attempted. */
  private readonly lanes = new Map<string, Delivery[]>();
  private readonly settledWaiters: (() => void)[] = [];
  private readonly stopTimers: Cancel[] = [];
  /** Per attempt in flight with a timeoutMs, the timer failing it: close() cancels them, so none runs after stop. */
  private readonly attemptTimeouts = new Set<Cancel>();
  /** Set once close() begins: from then on nothing new starts here. */
  private closing = false;
  /** When a sweep last read every record kept (processor clock). */
  private sweptAllAt = Number.NEGATIVE_INFINITY;

  constructor(
    targets: DeliveryTarget[],
    private readonly store: AlertStore,
    private readonly options: AlertDeliveryOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly events: AlertDeliveryEvents = {},
  ) {
    this.targets = new Map(targets.map((t) => [t.name, t]));
  }

  /** Names of the targets a new transition is sent to. */
  targetNames(): string[] {
    return [...this.targets.keys()];
  }

  /** Sweeps now and every sweepIntervalMs; keeps the records it holds fresh every takeoverAfterMs / 3. */
  start(): void {
    void this.sweep();
    this.stopTimers.push(every(this.clock, this.options.sweepIntervalMs, () => void this.sweep()));
    const refreshMs = this.options.takeoverAfterMs / 3;
    this.stopTimers.push(every(this.clock, refreshMs, () => this.refreshHeld(refreshMs)));
  }

  /** Starts delivering a record already stored (a new transition, or one taken over). */
  deliver(record: DeliveryRecord): void {
    const key = deliveryKey(keyOf(record.transition));
    if (this.active.has(key)) return;
    // Handed over after close() began (a window that finished after the drain): released like the
    // deliveries in progress at stop, for the next sweep of any processor.
    if (this.closing) return this.save({ ...record, updatedAt: 0 });
    const delivery: Delivery = { record, remaining: new Set(), retries: new Map(), failures: new Map(), waits: new Map(), sending: new Set(), turns: new Map() };
    for (const name of record.pending) {
      const target = this.targets.get(name);
      if (!target) this.giveUp(delivery, name, 'not configured on this processor');
      else if (this.expired(record)) this.giveUp(delivery, name, `not delivered within ${this.options.giveUpAfterMs} ms`, record.attempts);
      else if (target.maxPending !== undefined && this.holding(name) >= target.maxPending) this.giveUp(delivery, name, `${target.maxPending} transitions already pending`);
      else delivery.remaining.add(name);
    }
    if (delivery.remaining.size === 0) return void this.confirm(delivery);
    this.active.set(key, delivery);
    this.events.pending?.(this.active.size);
    for (const name of delivery.remaining) this.enqueue(delivery, this.targets.get(name)!);
  }

  pendingCount(): number {
    return this.active.size;
  }

  /**
   * Into its lane by window end, attempted at once if it heads it. It goes before a head that is
   * only waiting (back-off, or a resolve waiting for this very open), never before one in flight.
   */
  private enqueue(delivery: Delivery, target: DeliveryTarget): void {
    const key = laneKey(target.name, delivery.record.transition);
    const lane = this.lanes.get(key) ?? [];
    this.lanes.set(key, lane);
    const windowEnd = delivery.record.transition.score.windowEnd;
    let at = lane.length;
    while (at > 0 && lane[at - 1]!.record.transition.score.windowEnd > windowEnd) at--;
    if (at === 0 && lane[0]?.sending.has(target.name)) at = 1;
    lane.splice(at, 0, delivery);
    if (at > 0) return;
    const displaced = lane[1];
    if (displaced) this.callOff(displaced, target.name);
    this.attempt(delivery, target);
  }

  /** The target is done with this delivery: the next one of its lane goes. */
  private dequeue(delivery: Delivery, target: string): void {
    const key = laneKey(target, delivery.record.transition);
    const lane = this.lanes.get(key);
    if (!lane) return;
    const index = lane.indexOf(delivery);
    if (index >= 0) lane.splice(index, 1);
    const next = lane[0];
    if (!next) this.lanes.delete(key);
    else if (index === 0) this.attempt(next, this.targets.get(target)!);
  }

  /** Stops what is scheduled for this delivery and target; it is attempted again when it heads its lane again. */
  private callOff(delivery: Delivery, target: string): void {
    delivery.retries.get(target)?.();
    delivery.retries.delete(target);
    delivery.turns.set(target, (delivery.turns.get(target) ?? 0) + 1);
  }

  private holding(target: string): number {
    let count = 0;
    for (const delivery of this.active.values()) if (delivery.remaining.has(target)) count++;
    return count;
  }

  /**
   * Takes over the pending records nobody updated for takeoverAfterMs, oldest window first. Of every
   * window kept in the first sweep and once takeoverAfterMs has passed since the last sweep that read
   * them all, else of windows ended within giveUpAfterMs only, so a sweep every minute does not read 30
   * days of records: a record of an older window (a backlog drained days late) that a dead processor
   * left is taken over within 2 × takeoverAfterMs (+ sweepIntervalMs) of its last update. Records of
   * any age are read: one already giveUpAfterMs old is given up (deliver), so none stays pending, and
   * none blocks a resolve, for want of a processor that gives it up.
   */
  async sweep(): Promise<void> {
    const now = this.clock.now();
    try {
      const all = now - this.sweptAllAt >= this.options.takeoverAfterMs;
      const records = await this.store.pendingDeliveries(now - this.options.takeoverAfterMs, all ? undefined : now - this.options.giveUpAfterMs);
      // close() began meanwhile: the records stay as they are for the next sweep of any processor.
      if (this.closing) return;
      if (all) this.sweptAllAt = now;
      records.sort((a, b) => a.transition.score.windowEnd - b.transition.score.windowEnd);
      for (const record of records) {
        if (this.active.has(deliveryKey(keyOf(record.transition)))) continue;
        this.log.warn({ alertId: record.transition.alertId, state: record.transition.state, pending: record.pending }, 'taking over an alert delivery');
        record.updatedAt = this.clock.now();
        this.deliver(record);
        this.save(record);
      }
    } catch (error) {
      this.log.error({ err: describeError(error) }, 'alert delivery sweep failed; next sweep retries');
    }
  }

  /** Rewrites the records held here that were not updated for `olderThanMs`, so no sweep takes them over. */
  private refreshHeld(olderThanMs: number): void {
    const now = this.clock.now();
    for (const delivery of this.active.values()) {
      if (now - delivery.record.updatedAt < olderThanMs) continue;
      delivery.record.pending = [...delivery.remaining];
      delivery.record.updatedAt = now;
      this.save(delivery.record);
    }
  }

  /**
   * Waits up to timeoutMs for deliveries in progress, then releases the rest: their records stay
   * pending, marked for the next sweep of any processor.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    for (const stop of this.stopTimers.splice(0)) stop();
    if (this.active.size > 0 && timeoutMs > 0) {
      let cancelTimeout: Cancel | undefined;
      await new Promise<void>((resolve) => {
        this.settledWaiters.push(resolve);
        cancelTimeout = this.clock.schedule(resolve, timeoutMs);
      });
      cancelTimeout?.();
    }
    const released = [...this.active.values()];
    this.active.clear();
    this.lanes.clear();
    for (const cancelTimeout of this.attemptTimeouts) cancelTimeout();
    this.attemptTimeouts.clear();
    for (const delivery of released) {
      for (const cancelRetry of delivery.retries.values()) cancelRetry();
      delivery.record.pending = [...delivery.remaining];
      delivery.record.updatedAt = 0;
      // An attempt still running ends unheard (its timeout cancelled above): its record stays pending
      // (at worst, sent again).
      delivery.remaining.clear();
    }
    await Promise.allSettled(released.map((d) => this.store.saveDelivery(d.record)));
    if (released.length > 0) this.log.warn({ released: released.length }, 'alert deliveries still pending at stop; released to the next sweep');
    this.events.pending?.(0);
  }

  /** An open goes at once; a resolve first checks that its open is no longer pending for the target. */
  private attempt(delivery: Delivery, target: DeliveryTarget): void {
    delivery.retries.delete(target.name);
    const turn = (delivery.turns.get(target.name) ?? 0) + 1;
    delivery.turns.set(target.name, turn);
    const transition = delivery.record.transition;
    if (transition.state !== 'resolved') return this.send(delivery, target);
    const current = () => delivery.turns.get(target.name) === turn && delivery.remaining.has(target.name);
    this.openPending(transition, target.name).then(
      (pending) => {
        if (!current()) return;
        if (pending) this.waitForOpen(delivery, target);
        else this.send(delivery, target);
      },
      (error: unknown) => {
        if (!current()) return;
        this.log.warn({ target: target.name, alertId: transition.alertId, err: describeError(error) }, 'could not check whether an alert was opened before resolving it; checking again');
        this.waitForOpen(delivery, target);
      },
    );
  }

  /** Whether the open of this resolve's episode still waits for the target, here or in the store. */
  private async openPending(resolve: AlertTransition, target: string): Promise<boolean> {
    const open = openOf(resolve);
    const here = this.active.get(deliveryKey(open));
    if (here) return here.remaining.has(target);
    return (await this.store.findDelivery(open))?.pending.includes(target) ?? false;
  }

  /** The resolve checks again after the target's back-off; meanwhile its record is kept fresh. */
  private waitForOpen(delivery: Delivery, target: DeliveryTarget): void {
    const record = delivery.record;
    if (this.expired(record)) {
      this.giveUp(delivery, target.name, 'its open was never delivered');
      return this.settle(delivery, target.name);
    }
    const waits = (delivery.waits.get(target.name) ?? 0) + 1;
    delivery.waits.set(target.name, waits);
    if (waits === 1) this.log.info({ target: target.name, alertId: record.transition.alertId }, 'alert resolve waits until its open is delivered');
    delivery.retries.set(
      target.name,
      this.clock.schedule(() => this.attempt(delivery, target), backoffDelay(waits, target.backoff)),
    );
    this.keepAlive(delivery, target.name);
  }

  private send(delivery: Delivery, target: DeliveryTarget): void {
    const attempt = (delivery.failures.get(target.name) ?? 0) + 1;
    delivery.sending.add(target.name);
    this.sendWithin(target, delivery.record.transition).then(
      () => (delivery.sending.delete(target.name), this.settle(delivery, target.name)),
      (error: unknown) => (delivery.sending.delete(target.name), this.failed(delivery, target, attempt, error)),
    );
  }

  /** One attempt, failed once the target's timeoutMs has passed without an answer. */
  private sendWithin(target: DeliveryTarget, transition: AlertTransition): Promise<void> {
    const sent = target.send(transition);
    const timeoutMs = target.timeoutMs;
    if (timeoutMs === undefined) return sent;
    let cancel: Cancel = () => {};
    const timedOut = new Promise<never>((_, reject) => {
      cancel = this.clock.schedule(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    this.attemptTimeouts.add(cancel);
    return Promise.race([sent, timedOut]).finally(() => {
      cancel();
      this.attemptTimeouts.delete(cancel);
    });
  }

  private failed(delivery: Delivery, target: DeliveryTarget, attempt: number, error: unknown): void {
    if (!delivery.remaining.has(target.name)) return; // released at stop
    delivery.failures.set(target.name, attempt);
    this.events.failed?.(target.name);
    const reason = describeError(error);
    const record = delivery.record;
    if (error instanceof DeliveryRefused || attempt >= target.maxAttempts || this.expired(record)) {
      this.giveUp(delivery, target.name, reason, attempt);
      return this.settle(delivery, target.name);
    }
    const delay = backoffDelay(attempt, target.backoff);
    this.log.warn({ target: target.name, alertId: record.transition.alertId, attempt, retryInMs: Math.round(delay), reason }, 'alert delivery failed; retrying');
    delivery.retries.set(
      target.name,
      this.clock.schedule(() => this.attempt(delivery, target), delay),
    );
    record.attempts = Math.max(record.attempts, attempt);
    this.keepAlive(delivery, target.name);
  }

  /** Shows the other processors that this delivery, and those waiting behind it, are alive, so none takes them over. */
  private keepAlive(delivery: Delivery, target: string): void {
    for (const alive of this.lanes.get(laneKey(target, delivery.record.transition)) ?? [delivery]) {
      alive.record.pending = [...alive.remaining];
      alive.record.updatedAt = this.clock.now();
      this.save(alive.record);
    }
  }

  /** Not delivered within giveUpAfterMs (processor clock, from when the transition was counted): given up rather than tried. */
  private expired(record: DeliveryRecord): boolean {
    return this.clock.now() - record.createdAt >= this.options.giveUpAfterMs;
  }

  private giveUp(delivery: Delivery, target: string, reason: string, attempts?: number): void {
    this.events.abandoned?.(target);
    this.log.error({ target, alertId: delivery.record.transition.alertId, state: delivery.record.transition.state, attempts, reason }, 'alert delivery given up');
  }

  private settle(delivery: Delivery, target: string): void {
    if (!delivery.remaining.delete(target)) return;
    this.dequeue(delivery, target);
    if (delivery.remaining.size > 0) return;
    this.active.delete(deliveryKey(keyOf(delivery.record.transition)));
    this.events.pending?.(this.active.size);
    this.confirm(delivery);
    if (this.active.size === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
  }

  /** Every target confirmed or given up: the record is done. */
  private confirm(delivery: Delivery): void {
    delivery.record.pending = [];
    delivery.record.updatedAt = this.clock.now();
    this.save(delivery.record);
  }

  private save(record: DeliveryRecord): void {
    // A record that fails to save stays as it was stored: at worst it is taken over and delivered again.
    this.store.saveDelivery({ ...record, pending: [...record.pending] }).catch((error: unknown) => {
      this.log.error({ alertId: record.transition.alertId, err: describeError(error) }, 'alert delivery record not saved');
    });
  }
}
