// The unacknowledged messages of one subscription and where each one is: ready, leased to a consumer
// until an ack deadline, or waiting out a retry backoff. With ordering enabled, messages that share an
// ordering key form a queue delivered from its head, and a nacked or expired message is redelivered
// before anything behind it.
//
// How many messages of a key are out at once is `orderingKeyBatch`. With 1 (the default) only the head
// is leased, so the next one goes out only after the head is acked. Google's service does not promise
// that: it may send several messages of a key in one StreamingPull response, in order, before the first
// is acked (googleapis/nodejs-pubsub#1609 and #1796: "order is only for delivery"; the Node client
// emits each message at once and ignores the promise a listener returns), and when it redelivers one it
// redelivers every later message of the key too (cloud.google.com/pubsub/docs/ordering, "Message
// redelivery"). With orderingKeyBatch N > 1 the emulator does the same within limits a test can reason
// about: a key whose messages are all settled hands its head and up to N - 1 following ready messages
// to one consumer, in order (one response when its flow control has room); the key gets nothing more
// until every one of them is acked, nacked or expired; a nack or expiry ends the batch, and the key then
// starts again from its oldest unacked message, so the failed message comes back before those behind
// it. Unlike the service, a message that was acked is never redelivered.
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
  /** The first item from the head that matches. */
  find(matches: (item: T) => boolean): T | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i] as T;
      if (matches(item)) return item;
    }
    return undefined;
  }
  /** Removes an item wherever it is (only an orderingKeyBatch above 1 settles one behind the head). */
  remove(item: T): boolean {
    if (this.peek() === item) return this.shift() !== undefined;
    const at = this.items.indexOf(item, this.head);
    if (at < 0) return false;
    this.items.splice(at, 1);
    return true;
  }
}

/** The unacked messages of one ordering key, oldest first, and how many of them are leased. */
interface KeyQueue {
  entries: Fifo<QueueEntry>;
  leased: number;
}


export class MessageQueue {
  private readonly entries = new Map<number, QueueEntry>();
  private readonly ready = new Fifo<QueueEntry>();
  private readonly keyQueues = new Map<string, KeyQueue>();
  /** Ordering keys whose head may be delivered now, oldest first. */
  private readonly readyKeys = new Set<string>();
  private readonly waiting = new Set<QueueEntry>();
  private readonly leases = new Map<string, QueueEntry>();
  /** The key whose messages are being handed to one holder in a row, and how many it got so far. */
  private batch: { key: string; holder: LeaseHolder | undefined; taken: number } | undefined;

  constructor(
    private readonly ordered: boolean,
    /** Messages of one ordering key out at once (see the top of this file). */
    private readonly orderingKeyBatch = 1,
  ) {}

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
    if (!queue) this.keyQueues.set(key, (queue = { entries: new Fifo(), leased: 0 }));
    queue.entries.push(entry);
    if (queue.entries.length === 1) this.readyKeys.add(key);
  }

  /** Removes and returns the next deliverable message for holder; the caller must lease it. */
  takeNext(holder?: LeaseHolder): QueueEntry | undefined {
    const next = this.continueBatch(holder);
    if (next) return next;
    this.batch = undefined;
    for (const key of this.readyKeys) {
      this.readyKeys.delete(key);
      const head = this.keyQueues.get(key)?.entries.peek();
      if (head && !head.lease) {
        this.batch = { key, holder, taken: 1 };
        return head;
      }
    }
    return this.ready.shift();
  }

  lease(entry: QueueEntry, ackId: string, deadline: number, holder: LeaseHolder | undefined): void {
    entry.attempts += 1;
    entry.lease = { ackId, deadline, holder };
    this.leases.set(ackId, entry);
    const queue = this.queueOf(entry);
    if (queue) queue.leased += 1;
  }

  leased(ackId: string): QueueEntry | undefined {
    return this.leases.get(ackId);
  }

  /** Ends the lease and forgets the message (ack, or forwarded to a dead-letter topic). */
  remove(entry: QueueEntry): void {
    this.endLease(entry);
    this.entries.delete(entry.seq);
    this.waiting.delete(entry);
    const key = this.keyOf(entry);
    const queue = this.queueOf(entry);
    if (key === undefined || !queue?.entries.remove(entry)) return;
    if (queue.entries.length > 0) return this.readyIfSettled(key, queue);
    this.keyQueues.delete(key);
    if (this.batch?.key === key) this.batch = undefined;
  }

  /** Ends the lease and makes the message deliverable again at availableAt (nack, expiry). */
  release(entry: QueueEntry, availableAt: number, now: number): void {
    this.endLease(entry);
    entry.availableAt = availableAt;
    // A failure ends the key's batch: the key starts again from its oldest unacked message.
    const key = this.keyOf(entry);
    if (key !== undefined && this.batch?.key === key) this.batch = undefined;
    if (availableAt > now) this.waiting.add(entry);
    else this.makeReady(entry);
  }

  /** Moves messages whose backoff is over back to ready. */
  promoteDue(now: number): void {
    for (const entry of this.waiting) {
      if (entry.availableAt > now) continue;
      this.waiting.delete(entry);
      this.makeReady(entry);
    }
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

  /** The next message of the key being batched to this holder, in order, while the batch has room. */
  private continueBatch(holder: LeaseHolder | undefined): QueueEntry | undefined {
    const batch = this.batch;
    if (!batch || batch.holder !== holder || batch.taken >= this.orderingKeyBatch) return undefined;
    const next = this.keyQueues.get(batch.key)?.entries.find((e) => !e.lease);
    if (!next || this.waiting.has(next)) return undefined;
    batch.taken += 1;
    return next;
  }

  private endLease(entry: QueueEntry): void {
    if (!entry.lease) return;
    this.leases.delete(entry.lease.ackId);
    entry.lease.holder?.leaseEnded(entry.bytes);
    entry.lease = undefined;
    const queue = this.queueOf(entry);
    if (queue) queue.leased -= 1;
  }

  private makeReady(entry: QueueEntry): void {
    const key = this.keyOf(entry);
    const queue = this.queueOf(entry);
    if (key === undefined) this.ready.push(entry);
    else if (queue) this.readyIfSettled(key, queue);
  }

  /** A key is delivered again from its head once none of its messages is leased and the head's backoff is over. */
  private readyIfSettled(key: string, queue: KeyQueue): void {
    const head = queue.entries.peek();
    if (queue.leased === 0 && head && !this.waiting.has(head)) this.readyKeys.add(key);
  }

  private queueOf(entry: QueueEntry): KeyQueue | undefined {
    const key = this.keyOf(entry);
    return key === undefined ? undefined : this.keyQueues.get(key);
  }

  private keyOf(entry: QueueEntry): string | undefined {
    return this.ordered && entry.message.orderingKey !== '' ? entry.message.orderingKey : undefined;
  }
}
