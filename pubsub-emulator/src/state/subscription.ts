// One subscription: its configuration, its unacked messages and its counters, plus the delivery-attempt
// rules (ack deadline, retry backoff, when a message has failed often enough to be dead-lettered).
import { type LeaseHolder, MessageQueue, type QueueEntry } from './message-queue.js';
import type { StoredMessage } from './message.js';
import type { SubscriptionConfig } from './subscription-config.js';

export interface SubscriptionCounters {
  published: number;
  delivered: number;
  redelivered: number;
  acked: number;
  nacked: number;
  expired: number;
  deadLettered: number;
}

export interface SubscriptionStats extends SubscriptionCounters {
  /** Leased to a consumer and not yet acked, nacked or expired. */
  outstanding: number;
  /** Every unacked message, leased or not. */
  backlog: number;
}

export type FailureKind = 'nack' | 'expired';

export class Subscription {
  readonly queue: MessageQueue;
  readonly counters: SubscriptionCounters = { published: 0, delivered: 0, redelivered: 0, acked: 0, nacked: 0, expired: 0, deadLettered: 0 };
  private nextSeq = 1;

  constructor(
    public config: SubscriptionConfig,
    /** Makes ack ids from an earlier server process unrecognisable instead of acking the wrong message. */
    private readonly epoch: string,
    /** Messages of one ordering key out at once (state/message-queue.ts). */
    orderingKeyBatch = 1,
  ) {
    this.queue = new MessageQueue(config.enableMessageOrdering, orderingKeyBatch);
  }

  get name(): string {
    return this.config.name;
  }

  enqueue(message: StoredMessage, attempts = 0): void {
    this.queue.add(this.nextSeq++, message, attempts);
    if (attempts === 0) this.counters.published += 1;
  }

  /** Leases the next deliverable message to holder until now + ackDeadlineMs. */
  leaseNext(now: number, ackDeadlineMs: number, holder: LeaseHolder | undefined): QueueEntry | undefined {
    const entry = this.queue.takeNext(holder);
    if (!entry) return undefined;
    this.queue.lease(entry, `${this.epoch}-${entry.seq}-${entry.attempts + 1}`, now + ackDeadlineMs, holder);
    this.counters.delivered += 1;
    if (entry.attempts > 1) this.counters.redelivered += 1;
    return entry;
  }

  /** delivery_attempt as the service reports it: only with a dead-letter policy, else 0. */
  deliveryAttempt(entry: QueueEntry): number {
    return this.config.deadLetterPolicy ? entry.attempts : 0;
  }

  ack(ackId: string): boolean {
    const entry = this.queue.leased(ackId);
    if (!entry) return false; // stale or already settled: the service ignores these too
    this.queue.remove(entry);
    this.counters.acked += 1;
    return true;
  }

  extend(ackId: string, deadline: number): boolean {
    const entry = this.queue.leased(ackId);
    if (!entry?.lease) return false;
    entry.lease.deadline = deadline;
    return true;
  }

  /**
   * A delivery failed (nack or expired deadline). Returns true when the message has used up its delivery
   * attempts and must go to the dead-letter topic; otherwise it is requeued after the retry backoff.
   */
  fail(entry: QueueEntry, kind: FailureKind, now: number): boolean {
    this.counters[kind === 'nack' ? 'nacked' : 'expired'] += 1;
    const policy = this.config.deadLetterPolicy;
    if (policy && entry.attempts >= policy.maxDeliveryAttempts) return true;
    this.queue.release(entry, now + this.backoffMs(entry.attempts), now);
    return false;
  }

  /** Exponential backoff from minimum to maximum, doubling per failed attempt (none without a RetryPolicy). */
  backoffMs(failedAttempts: number): number {
    const policy = this.config.retryPolicy;
    if (!policy) return 0;
    const exponent = Math.max(0, failedAttempts - 1);
    return Math.min(policy.maximumBackoffMs, policy.minimumBackoffMs * 2 ** Math.min(exponent, 30));
  }

  stats(): SubscriptionStats {
    return { ...this.counters, outstanding: this.queue.outstanding, backlog: this.queue.backlog };
  }
}
