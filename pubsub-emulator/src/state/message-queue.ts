// The unacknowledged messages of one subscription and where each one is: ready, leased to a consumer
// until an ack deadline, or waiting out a retry backoff. With ordering enabled, messages that share an
// ordering key form a queue whose head is the only one that may be leased, so a key has at most one
// message in flight and a nacked or expired head is redelivered before anything behind it.
import { type StoredMessage, messageBytes } from './message.js';

/** Whoever holds a lease (a StreamingPull stream or a Pull call): told when the lease ends, for flow control. */
export interface LeaseHolder {
  leaseEnded(bytes: number): void;
}

export interface QueueEntry {
  readonly seq: number;
  readonly message: StoredMessage;
  readonly bytes: number;
  /** Deliveries so far (the next delivery's delivery_attempt is attempts + 1). */
  attempts: number;
  /** Not deliverable before this time (retry backoff). */
  availableAt: number;
  lease?: { ackId: string; deadline: number; holder: LeaseHolder | undefined };
}

/** A FIFO with O(1) shift; compacts when the consumed prefix dominates. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
}

export class MessageQueue {
  private readonly entries = new Map<number, QueueEntry>();
  private readonly ready = new Fifo<QueueEntry>();
  private readonly keyQueues = new Map<string, Fifo<QueueEntry>>();
  /** Ordering keys whose head may be delivered now, oldest first. */
  private readonly readyKeys = new Set<string>();
  private waiting: QueueEntry[] = [];
  private readonly leases = new Map<string, QueueEntry>();

  constructor(private readonly ordered: boolean) {}

  get backlog(): number {
    return this.entries.size;
  }
  get outstanding(): number {
    return this.leases.size;
  }
  get deliverable(): boolean {
    return this.readyKeys.size > 0 || this.ready.length > 0;
  }

  /** Adds a message (new, or restored from a snapshot with its attempt count). */
  add(seq: number, message: StoredMessage, attempts = 0): void {
    const entry: QueueEntry = { seq, message, bytes: messageBytes(message), attempts, availableAt: 0 };
    this.entries.set(seq, entry);
    const key = this.keyOf(entry);
    if (key === undefined) return this.ready.push(entry);
    let queue = this.keyQueues.get(key);
    if (!queue) this.keyQueues.set(key, (queue = new Fifo()));
    queue.push(entry);
    if (queue.length === 1) this.readyKeys.add(key);
  }

  /** Removes and returns the next deliverable message; the caller must lease it. */
  takeNext(): QueueEntry | undefined {
    for (const key of this.readyKeys) {
      this.readyKeys.delete(key);
      const head = this.keyQueues.get(key)?.peek();
      if (head) return head;
    }
    return this.ready.shift();
  }

  lease(entry: QueueEntry, ackId: string, deadline: number, holder: LeaseHolder | undefined): void {
    entry.attempts += 1;
    entry.lease = { ackId, deadline, holder };
    this.leases.set(ackId, entry);
  }

  leased(ackId: string): QueueEntry | undefined {
    return this.leases.get(ackId);
  }

  /** Ends the lease and forgets the message (ack, or forwarded to a dead-letter topic). */
  remove(entry: QueueEntry): void {
    this.endLease(entry);
    this.entries.delete(entry.seq);
    const key = this.keyOf(entry);
    if (key === undefined) return;
    const queue = this.keyQueues.get(key);
    if (queue?.peek() !== entry) return;
    queue.shift();
    if (queue.length === 0) this.keyQueues.delete(key);
    else this.readyKeys.add(key);
  }

  /** Ends the lease and makes the message deliverable again at availableAt (nack, expiry). */
  release(entry: QueueEntry, availableAt: number, now: number): void {
    this.endLease(entry);
    entry.availableAt = availableAt;
    if (availableAt > now) this.waiting.push(entry);
    else this.makeReady(entry);
  }

  /** Moves messages whose backoff is over back to ready. */
  promoteDue(now: number): void {
    if (this.waiting.length === 0) return;
    const still: QueueEntry[] = [];
    for (const entry of this.waiting) {
      if (entry.availableAt <= now) this.makeReady(entry);
      else still.push(entry);
    }
    this.waiting = still;
  }

  /** Leased messages whose ack deadline has passed. */
  expired(now: number): QueueEntry[] {
    const due: QueueEntry[] = [];
    for (const entry of this.leases.values()) if (entry.lease && entry.lease.deadline <= now) due.push(entry);
    return due;
  }

  /** Every unacked message in publish order (for snapshots). */
  all(): IterableIterator<QueueEntry> {
    return this.entries.values();
  }

  private endLease(entry: QueueEntry): void {
    if (!entry.lease) return;
    this.leases.delete(entry.lease.ackId);
    entry.lease.holder?.leaseEnded(entry.bytes);
    entry.lease = undefined;
  }

  private makeReady(entry: QueueEntry): void {
    const key = this.keyOf(entry);
    if (key === undefined) this.ready.push(entry);
    else this.readyKeys.add(key);
  }

  private keyOf(entry: QueueEntry): string | undefined {
    return this.ordered && entry.message.orderingKey !== '' ? entry.message.orderingKey : undefined;
  }
}
