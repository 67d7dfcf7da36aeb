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

/** An acked message kept for redeliverAcked, with the deliveries it had. */
interface AckedMessage {
  message: StoredMessage;
  attempts: number;
}

/** Which acked messages the redeliverAcked test hook delivers again: these ids, or the last N acked. */
export type AckedSelection = { messageIds: readonly string[] } | { last: number };

export class Subscription {
  readonly queue: MessageQueue;
  readonly counters: SubscriptionCounters = { published: 0, delivered: 0, redelivered: 0, acked: 0, nacked: 0, expired: 0, deadLettered: 0 };
  private nextSeq = 1;
  /** The newest acked messages, oldest first, at most keepAcked: what redeliverAcked can send again. */
  private readonly acked: AckedMessage[] = [];

  constructor(
    public config: SubscriptionConfig,
    /** Makes ack ids from an earlier server process unrecognisable instead of acking the wrong message. */
    private readonly epoch: string,
    /** Messages of one ordering key out at once (state/message-queue.ts). */
    orderingKeyBatch = 1,
    /** Acked messages kept for redeliverAcked; 0 (the default): an ack forgets the message for good. */
    private readonly keepAcked = 0,
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
    if (this.keepAcked > 0) {
      this.acked.push({ message: entry.message, attempts: entry.attempts });
      if (this.acked.length > this.keepAcked) this.acked.shift();
    }
    return true;
  }

  /**
   * Test hook: puts acked messages back as unacked, the same message (id, data, ordering key, publish
   * time), in the order named (the last N: in the order they were acked), behind any unacked message of
   * their ordering key. Pub/Sub delivers at least once and may do this (a lost or late ack, a stream
   * reconnect, and with ordering a nack that brings back the later messages of its key, acked ones
   * included); an ack here is otherwise final. Only messages still kept (keepAcked) can be chosen;
   * returns their ids.
   */
  redeliverAcked(selection: AckedSelection): string[] {
    const picked = 'last' in selection ? this.lastAcked(selection.last) : [...new Set(selection.messageIds)].map((id) => this.keptAcked(id));
    for (const acked of picked) {
      this.acked.splice(this.acked.indexOf(acked), 1); // unacked again: acked anew, it is kept anew
      this.queue.add(this.nextSeq++, acked.message, acked.attempts);
    }
    return picked.map((acked) => acked.message.id);
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

  private lastAcked(count: number): AckedMessage[] {
    if (!Number.isInteger(count) || count < 1 || count > this.acked.length) {
      throw new RangeError(`redeliverAcked: last must be an integer from 1 to the ${this.acked.length} acked messages kept on ${this.name} (keepAcked ${this.keepAcked}), got ${count}`);
    }
    return this.acked.slice(-count);
  }

  private keptAcked(messageId: string): AckedMessage {
    const acked = this.acked.find((a) => a.message.id === messageId);
    if (!acked) throw new RangeError(`redeliverAcked: message ${messageId} is not among the ${this.acked.length} acked messages kept on ${this.name} (keepAcked ${this.keepAcked})`);
    return acked;
  }

  stats(): SubscriptionStats {
    return { ...this.counters, outstanding: this.queue.outstanding, backlog: this.queue.backlog };
  }
}
