// Delivers alert transitions to their targets (the `alerts` Pub/Sub topic, the webhook) in the
// background, each target retried with back-off until it confirms. The transition's delivery record
// is stored with the alert state before the window is acked (alert-store.ts), so a delivery outlives
// the processor that started it:
// - while retrying, the record's `updated_at` is refreshed on every failed attempt;
// - on stop, deliveries still pending are released (`updated_at` 0) for the next sweep;
// - every `sweepIntervalMs` (and at start) each processor takes over the pending records not updated
//   for `takeoverAfterMs` (released, or left by a processor that died).
// A machine's transitions reach each target in order: one waits for the one before it (same target,
// same machine) to be confirmed or given up, so a resolve never overtakes its open after an outage.
// Guarantee: at least once per target, with the alert id stable across open and resolve and across
// processors, so receivers deduplicate on (alert id, state). Bounded: a target is given up after its
// `maxAttempts`, on an answer that retrying cannot change (a webhook's 4xx), or once the record is
// `giveUpAfterMs` old; every failed attempt and every give-up is counted.
import { backoffDelay, every, type BackoffOptions, type Cancel, type Clock } from '@pdm/clock';
import type { Logger } from 'pino';
import { describeError } from '../shared/describe-error.js';
import type { AlertTransition } from './alert-tracker.js';
import type { AlertStore, DeliveryRecord } from './alert-store.js';

export const ALERT_DELIVERY_DEFAULTS = {
  /** Between attempts of a target without a back-off of its own (the topic). */
  backoff: { initialMs: 1_000, multiplier: 2, maxMs: 60_000 },
  /** A transition not delivered within this long is given up (an alert a day old is news no more). */
  giveUpAfterMs: 24 * 3_600_000,
  /** A pending record not updated for this long belongs to no live processor; more than any back-off. */
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
  retries: Map<string, Cancel>;
}

const deliveryKey = (t: AlertTransition) => `${t.siteId}\u0000${t.machineId}\u0000${t.state}\u0000${t.score.windowEnd}`;
const laneKey = (target: string, t: AlertTransition) => `${target}\u0000${t.siteId}\u0000${t.machineId}`;

export class AlertDeliveries {
  private readonly targets: Map<string, DeliveryTarget>;
  private readonly active = new Map<string, Delivery>();
  /** Per target and machine, the deliveries not settled for that target, oldest first; only the head is attempted. */
  private readonly lanes = new Map<string, Delivery[]>();
  private readonly settledWaiters: (() => void)[] = [];
  private stopSweeping: Cancel | undefined;

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

  /** Sweeps now and every sweepIntervalMs. */
  start(): void {
    void this.sweep();
    this.stopSweeping = every(this.clock, this.options.sweepIntervalMs, () => void this.sweep());
  }

  /** Starts delivering a record already stored (a new transition, or one taken over). */
  deliver(record: DeliveryRecord): void {
    const key = deliveryKey(record.transition);
    if (this.active.has(key)) return;
    const delivery: Delivery = { record, remaining: new Set(), retries: new Map() };
    for (const name of record.pending) {
      const target = this.targets.get(name);
      if (!target) this.giveUp(delivery, name, 'not configured on this processor');
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

  /** Into its lane by window end (behind the head, which may be in flight); attempted at once if it heads it. */
  private enqueue(delivery: Delivery, target: DeliveryTarget): void {
    const key = laneKey(target.name, delivery.record.transition);
    const lane = this.lanes.get(key) ?? [];
    this.lanes.set(key, lane);
    const windowEnd = delivery.record.transition.score.windowEnd;
    let at = lane.length;
    while (at > 1 && lane[at - 1]!.record.transition.score.windowEnd > windowEnd) at--;
    lane.splice(at, 0, delivery);
    if (lane.length === 1) this.attempt(delivery, target, 1);
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
    else if (index === 0) this.attempt(next, this.targets.get(target)!, 1);
  }

  private holding(target: string): number {
    let count = 0;
    for (const delivery of this.active.values()) if (delivery.remaining.has(target)) count++;
    return count;
  }

  /** Takes over the pending records nobody updated for takeoverAfterMs. */
  async sweep(): Promise<void> {
    const now = this.clock.now();
    try {
      const records = await this.store.pendingDeliveries(now - this.options.giveUpAfterMs, now - this.options.takeoverAfterMs);
      for (const record of records) {
        if (this.active.has(deliveryKey(record.transition))) continue;
        this.log.warn({ alertId: record.transition.alertId, state: record.transition.state, pending: record.pending }, 'taking over an alert delivery');
        record.updatedAt = this.clock.now();
        this.deliver(record);
        this.save(record);
      }
    } catch (error) {
      this.log.error({ err: describeError(error) }, 'alert delivery sweep failed; next sweep retries');
    }
  }

  /**
   * Waits up to timeoutMs for deliveries in progress, then releases the rest: their records stay
   * pending, marked for the next sweep of any processor.
   */
  async close(timeoutMs: number): Promise<void> {
    this.stopSweeping?.();
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
    for (const delivery of released) {
      for (const cancelRetry of delivery.retries.values()) cancelRetry();
      delivery.record.pending = [...delivery.remaining];
      delivery.record.updatedAt = 0;
      // An attempt still running ends unheard: its record stays pending (at worst, sent again).
      delivery.remaining.clear();
    }
    await Promise.allSettled(released.map((d) => this.store.saveDelivery(d.record)));
    if (released.length > 0) this.log.warn({ released: released.length }, 'alert deliveries still pending at stop; released to the next sweep');
    this.events.pending?.(0);
  }

  private attempt(delivery: Delivery, target: DeliveryTarget, attempt: number): void {
    delivery.retries.delete(target.name);
    void target.send(delivery.record.transition).then(
      () => this.settle(delivery, target.name),
      (error: unknown) => this.failed(delivery, target, attempt, error),
    );
  }

  private failed(delivery: Delivery, target: DeliveryTarget, attempt: number, error: unknown): void {
    if (!delivery.remaining.has(target.name)) return; // released at stop
    this.events.failed?.(target.name);
    const reason = describeError(error);
    const record = delivery.record;
    const tooOld = this.clock.now() - record.createdAt >= this.options.giveUpAfterMs;
    if (error instanceof DeliveryRefused || attempt >= target.maxAttempts || tooOld) {
      this.giveUp(delivery, target.name, reason, attempt);
      return this.settle(delivery, target.name);
    }
    const delay = backoffDelay(attempt, target.backoff);
    this.log.warn({ target: target.name, alertId: record.transition.alertId, attempt, retryInMs: Math.round(delay), reason }, 'alert delivery failed; retrying');
    delivery.retries.set(
      target.name,
      this.clock.schedule(() => this.attempt(delivery, target, attempt + 1), delay),
    );
    // Shows the other processors that this delivery, and those waiting behind it, are alive, so none takes them over.
    record.attempts = Math.max(record.attempts, attempt);
    for (const alive of this.lanes.get(laneKey(target.name, record.transition)) ?? [delivery]) {
      alive.record.pending = [...alive.remaining];
      alive.record.updatedAt = this.clock.now();
      this.save(alive.record);
    }
  }

  private giveUp(delivery: Delivery, target: string, reason: string, attempts?: number): void {
    this.events.abandoned?.(target);
    this.log.error({ target, alertId: delivery.record.transition.alertId, state: delivery.record.transition.state, attempts, reason }, 'alert delivery given up');
  }

  private settle(delivery: Delivery, target: string): void {
    if (!delivery.remaining.delete(target)) return;
    this.dequeue(delivery, target);
    if (delivery.remaining.size > 0) return;
    this.active.delete(deliveryKey(delivery.record.transition));
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
