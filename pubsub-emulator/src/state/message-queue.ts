// The unacknowledged messages of one subscription and where each one is: ready, leased to a consumer
// until an ack deadline, or waiting out a retry backoff. With ordering enabled, messages that share an
// ordering key form a queue delivered from its head, and a nacked or expired message is redelivered
// before anything behind it.
//
// How many messages of a key are out at once is `orderingKeyBatch`. With 1 (the default) only the head
// is leased, so the next one goes out only after the head is acked. Google's service does not promise
// that: it may send several messages of a key before the first is acked, in one StreamingPull response
// or later ones while earlier ones are outstanding (googleapis/nodejs-pubsub#1609 and #1796: "order is
// only for delivery"; the Node client emits each message at once and ignores the promise a listener
// returns), and when a message is nacked or its ack deadline expires it redelivers that message and every
// later message of the key, in order, while the client may still hold the old deliveries of those later
// ones (cloud.google.com/pubsub/docs/ordering, "Message redelivery"). With orderingKeyBatch N > 1 the
// emulator models this:
// - A key's messages go out in order, up to N leased at once: as one is acked the next follows while
//   earlier ones are still out. While any is leased the key goes only to the holder of those leases (the
//   service assigns a key to one subscriber client); a Pull call is a holder of its own.
// - A nack or expiry of a message ends at once the leases of the key's later outstanding messages: their
//   acks, nacks and deadline extensions are then ignored (as for an expired lease, and counted nowhere),
//   and their holder's flow control is freed. The key is delivered again from the failed message (after
//   its retry backoff), then the ones behind it, without waiting for the old deliveries to be settled.
//   Messages before the failed one that are still leased keep their leases.
// It does not model: redelivery of a message that was already acked (the service may send acked later
// messages of a key again; here an ack is final, unless a test puts the message back with the
// redeliverAcked hook: subscription.ts), a key moving to another client while its messages are
// out, or the service's timing (here everything ready goes out at once, up to the holder's flow control).
// A message dead-lettered here (delivery attempts used up) is removed like an acked one: it ends no
// other lease.
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
  /** The item `index` places from the head. */
  at(index: number): T | undefined {
    return index < 0 ? undefined : this.items[this.head + index];
  }
  /** Removes an item wherever it is (with an orderingKeyBatch above 1 a message behind the head may be acked first). */
  remove(item: T): boolean {
    if (this.peek() === item) return this.shift() !== undefined;
    const at = this.items.indexOf(item, this.head);
    if (at < 0) return false;
    this.items.splice(at, 1);
    return true;
  }
}

/** The unacked messages of one ordering key, oldest first. The leased ones are always its first `leased`. */
interface KeyQueue {
  key: string;
  entries: Fifo<QueueEntry>;
  leased: number;
  /** Who holds the leased ones: while any is out, the key's next messages go to it alone. */
  holder: LeaseHolder | undefined;
}

export class MessageQueue {
  private readonly entries = new Map<number, QueueEntry>();
  private readonly ready = new Fifo<QueueEntry>();
  private readonly keyQueues = new Map<string, KeyQueue>();
  /** Ordering keys whose next message may be delivered now (to the holder of their leases, if any), oldest first. */
  private readonly readyKeys = new Set<string>();
  private readonly waiting = new Set<QueueEntry>();
  private readonly leases = new Map<string, QueueEntry>();

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
    if (!queue) this.keyQueues.set(key, (queue = { key, entries: new Fifo(), leased: 0, holder: undefined }));
    queue.entries.push(entry);
    this.refresh(queue);
  }

  /**
   * The next deliverable message for holder; the caller must lease it. A key stays first while it has
   * messages to give, so a key's messages go out together, in order.
   */
  takeNext(holder?: LeaseHolder): QueueEntry | undefined {
    for (const key of this.readyKeys) {
      const queue = this.keyQueues.get(key) as KeyQueue;
      if (queue.leased === 0 || queue.holder === holder) return queue.entries.at(queue.leased);
    }
    return this.ready.shift();
  }

  lease(entry: QueueEntry, ackId: string, deadline: number, holder: LeaseHolder | undefined): void {
    entry.attempts += 1;
    entry.lease = { ackId, deadline, holder };
    this.leases.set(ackId, entry);
    const queue = this.queueOf(entry);
    if (!queue) return;
    queue.leased += 1;
    queue.holder = holder;
    this.refresh(queue);
  }

  leased(ackId: string): QueueEntry | undefined {
    return this.leases.get(ackId);
  }

  /** Ends the lease and forgets the message (ack, or forwarded to a dead-letter topic). */
  remove(entry: QueueEntry): void {
    this.endLease(entry);
    this.entries.delete(entry.seq);
    this.waiting.delete(entry);
    const queue = this.queueOf(entry);
    if (!queue?.entries.remove(entry)) return;
    if (queue.entries.length > 0) return this.refresh(queue);
    this.keyQueues.delete(queue.key);
    this.readyKeys.delete(queue.key);
  }

  /**
   * Ends the lease and makes the message deliverable again at availableAt (nack, expiry). As the service
   * redelivers a failed message with every later one of its key, the leases of the later ones end too.
   */
  release(entry: QueueEntry, availableAt: number, now: number): void {
    const queue = this.queueOf(entry);
    if (queue) this.endLeasesAfter(queue, entry);
    this.endLease(entry);
    entry.availableAt = availableAt;
    if (availableAt <= now) return this.makeReady(entry);
    this.waiting.add(entry);
    if (queue) this.refresh(queue); // its key waits for it
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

  /** Ends the leases of the key's messages leased after entry (they are the last of its leased ones). */
  private endLeasesAfter(queue: KeyQueue, entry: QueueEntry): void {
    if (!entry.lease) return;
    for (let later = queue.entries.at(queue.leased - 1); later && later !== entry; later = queue.entries.at(queue.leased - 1)) this.endLease(later);
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
    const queue = this.queueOf(entry);
    if (queue) this.refresh(queue);
    else this.ready.push(entry);
  }

  /**
   * A key is ready while fewer than orderingKeyBatch of its messages are leased and the first one not
   * leased is past its backoff. A key that stays ready keeps its place among the ready keys.
   */
  private refresh(queue: KeyQueue): void {
    const next = queue.entries.at(queue.leased);
    if (queue.leased < this.orderingKeyBatch && next && !this.waiting.has(next)) this.readyKeys.add(queue.key);
    else this.readyKeys.delete(queue.key);
  }

  private queueOf(entry: QueueEntry): KeyQueue | undefined {
    const key = this.keyOf(entry);
    return key === undefined ? undefined : this.keyQueues.get(key);
  }

  private keyOf(entry: QueueEntry): string | undefined {
    return this.ordered && entry.message.orderingKey !== '' ? entry.message.orderingKey : undefined;
  }
}
