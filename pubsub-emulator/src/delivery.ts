// The delivery scheduler: hands a subscription's deliverable messages to its consumers (StreamingPull
// streams, waiting Pull calls) within each consumer's flow-control room, round-robin so several clients
// share one subscription, and runs deadline/backoff checks on a timer or whenever a ManualClock advances.
import { type Clock, isObservableClock } from './clock.js';
import { EMULATOR_DEFAULTS } from './defaults.js';
import type { Broker } from './state/broker.js';
import type { LeaseHolder, QueueEntry } from './state/message-queue.js';
import type { Subscription } from './state/subscription.js';

export interface Consumer extends LeaseHolder {
  /** The ack deadline of messages leased to this consumer. */
  readonly ackDeadlineMs: number;
  /** How much more this consumer may hold now (messages, bytes); 0 messages means none. */
  room(): { messages: number; bytes: number };
  send(subscription: Subscription, entries: QueueEntry[]): void;
}

export interface DeliveryOptions {
  intervalMs: number;
  maxMessagesPerResponse: number;
}

export class DeliveryScheduler {
  private readonly consumers = new Map<string, Consumer[]>();
  private readonly dirty = new Set<Subscription>();
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribeClock: (() => void) | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly clock: Clock,
    private readonly options: DeliveryOptions = {
      intervalMs: EMULATOR_DEFAULTS.schedulerIntervalMs,
      maxMessagesPerResponse: EMULATOR_DEFAULTS.maxMessagesPerResponse,
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
    if (isObservableClock(this.clock)) this.unsubscribeClock = this.clock.onAdvance(() => this.tick());
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribeClock?.();
    this.consumers.clear();
    this.dirty.clear();
  }

  attach(subscription: Subscription, consumer: Consumer): () => void {
    const list = this.consumers.get(subscription.name) ?? [];
    list.push(consumer);
    this.consumers.set(subscription.name, list);
    this.wake(subscription);
    return () => {
      const current = this.consumers.get(subscription.name);
      if (!current) return;
      const rest = current.filter((c) => c !== consumer);
      if (rest.length > 0) this.consumers.set(subscription.name, rest);
      else this.consumers.delete(subscription.name);
    };
  }

  /** Asks for a dispatch of this subscription soon; many wakes in one turn cost one dispatch. */
  wake(subscription: Subscription): void {
    if (!this.consumers.has(subscription.name)) return;
    this.dirty.add(subscription);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Expires deadlines, ends backoffs and delivers what became due, synchronously. */
  tick(): void {
    this.broker.expireDue();
    this.flush();
  }

  private flush(): void {
    this.flushScheduled = false;
    const subs = [...this.dirty];
    this.dirty.clear();
    for (const sub of subs) this.dispatch(sub);
  }

  private dispatch(sub: Subscription): void {
    const list = this.consumers.get(sub.name);
    if (!list || list.length === 0) return;
    // Rotate the starting consumer so a subscription's messages spread over all its clients.
    list.push(list.shift() as Consumer);
    let progress = true;
    while (progress && sub.queue.deliverable && this.broker.subscriptions.get(sub.name) === sub) {
      progress = false;
      for (const consumer of [...list]) {
        if (this.fill(sub, consumer) > 0) progress = true;
        if (!sub.queue.deliverable) break;
      }
    }
  }

  private fill(sub: Subscription, consumer: Consumer): number {
    const room = consumer.room();
    const max = Math.min(room.messages, this.options.maxMessagesPerResponse);
    const batch: QueueEntry[] = [];
    let bytes = 0;
    const now = this.clock.now();
    // One message may overshoot the byte room, as the service does, so a big message is never stuck.
    while (batch.length < max && bytes < room.bytes) {
      const entry = sub.leaseNext(now, consumer.ackDeadlineMs, consumer);
      if (!entry) break;
      batch.push(entry);
      bytes += entry.bytes;
    }
    if (batch.length > 0) consumer.send(sub, batch);
    return batch.length;
  }
}
