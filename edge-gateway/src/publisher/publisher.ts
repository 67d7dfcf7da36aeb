// Drains the outbox into Pub/Sub. Rows are published in outbox order, in the messages a
// FeatureMessageFormat makes of them (one window each with ordering key = machine id, or batches per
// shard with ordering key = gateway and shard); a row leaves the outbox only when Pub/Sub confirmed
// the message that carried it. At most `maxInFlight` windows are outstanding, so a slow or dead link
// backs up into the outbox on disk, not into memory, and no ordering key is sent more than
// `keyMaxBytesPerSecond` (Pub/Sub's limit is 1 MB/s per key). When a publish fails, the client pauses
// that ordering key; we back off, resume it and re-read the key's rows from the first unconfirmed one,
// so order per key (and so per machine) is kept. A key held back by its rate is re-read the same way
// once it may send again.
import type { Topic } from '@google-cloud/pubsub';
import { type BackoffOptions, type Cancel, type Clock, backoffDelay, systemClock } from '@pdm/clock';
import type { Outbox, OutboxEntry } from '../outbox/index.js';
import type { FeatureMessage, FeatureMessageFormat } from './feature-messages.js';
import { KeyRateLimiter } from './key-rate.js';

export interface PublisherOptions {
  /** Windows published but not yet confirmed, at most. */
  maxInFlight: number;
  /**
   * Back-off after a failed publish: initial delay, growth factor, cap, and jitter, so the gateways
   * of a site that lost the link together do not all retry in the same instant when it returns.
   */
  backoff: BackoffOptions;
  /** Bytes per second one ordering key is sent at most. */
  keyMaxBytesPerSecond: number;
}

export interface PublisherEvents {
  /** A window was confirmed, `latencyMs` after its message was published. */
  published?(entry: OutboxEntry, latencyMs: number): void;
  /** The message carrying a window failed (the window stays in the outbox). */
  failed?(entry: OutboxEntry, error: Error): void;
}

export type PublisherState = 'idle' | 'publishing' | 'backing_off' | 'stopped';

/** An ordering key whose rows are not published for now: the first row to re-read, and the resume. */
interface Hold {
  fromSeq: number;
  /** A failure paused the key in the client (a back-off), rather than its rate. */
  failed: boolean;
  cancelResume: Cancel;
}

export class OutboxPublisher {
  /** Rows of messages published and not yet settled, by seq. */
  private readonly inFlight = new Map<number, OutboxEntry>();
  private readonly held = new Map<string, Hold>();
  private readonly rate: KeyRateLimiter;
  private cursor = 0;
  private consecutiveFailures = 0;
  private stopped = false;
  private pumping = false;
  private settledWaiters: Array<() => void> = [];

  constructor(
    private readonly outbox: Outbox,
    private readonly topic: Topic,
    private readonly format: FeatureMessageFormat,
    private readonly options: PublisherOptions,
    private readonly events: PublisherEvents = {},
    /** Back-off, rate holds, the stop timeout and publish latency run on it. */
    private readonly clock: Clock = systemClock,
    /** The back-off's jitter source, [0, 1). */
    private readonly random: () => number = Math.random,
  ) {
    this.rate = new KeyRateLimiter(options.keyMaxBytesPerSecond);
  }

  /** Call after appending to the outbox (and once at start, to replay what it holds). */
  notify(): void {
    if (this.stopped || this.pumping) return;
    this.pumping = true;
    try {
      this.pump();
    } finally {
      this.pumping = false;
    }
  }

  state(): PublisherState {
    if (this.stopped) return 'stopped';
    for (const hold of this.held.values()) if (hold.failed) return 'backing_off';
    return this.inFlight.size > 0 || this.held.size > 0 ? 'publishing' : 'idle';
  }

  /** Windows published and not confirmed yet. */
  inFlightCount(): number {
    return this.inFlight.size;
  }

  private pump(): void {
    while (!this.stopped && this.inFlight.size < this.options.maxInFlight) {
      const want = this.options.maxInFlight - this.inFlight.size;
      const entries = this.outbox.peek(this.cursor, want);
      const byKey = new Map<string, OutboxEntry[]>();
      for (const entry of entries) {
        this.cursor = entry.seq;
        if (this.inFlight.has(entry.seq)) continue;
        const key = this.format.keyOf(entry);
        if (this.held.has(key)) continue;
        const keyEntries = byKey.get(key);
        if (keyEntries) keyEntries.push(entry);
        else byKey.set(key, [entry]);
      }
      for (const [key, keyEntries] of byKey) this.publishKey(key, keyEntries);
      if (entries.length < want) return;
    }
  }

  /** Publishes the messages of one key's rows in order, until its rate says to wait. */
  private publishKey(key: string, entries: readonly OutboxEntry[]): void {
    for (const message of this.format.messages(entries)) {
      const now = this.clock.now();
      const wait = this.rate.waitMs(key, message.data.byteLength, now);
      if (wait > 0) {
        this.hold(key, (message.entries[0] as OutboxEntry).seq, wait, false);
        return;
      }
      this.rate.spend(key, message.data.byteLength, now);
      this.publish(key, message);
    }
  }

  private publish(key: string, message: FeatureMessage): void {
    for (const entry of message.entries) this.inFlight.set(entry.seq, entry);
    const started = this.clock.now();
    this.topic
      .publishMessage({ data: Buffer.from(message.data), attributes: message.attributes, orderingKey: key })
      .then(
        () => {
          this.consecutiveFailures = 0;
          const latencyMs = this.clock.now() - started;
          for (const entry of message.entries) {
            this.outbox.remove(entry.seq, entry.payload.byteLength);
            this.events.published?.(entry, latencyMs);
          }
        },
        (error: unknown) => this.onFailure(key, message.entries, error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        for (const entry of message.entries) this.inFlight.delete(entry.seq);
        if (this.inFlight.size === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
        this.notify();
      });
  }

  private onFailure(key: string, entries: readonly OutboxEntry[], error: Error): void {
    for (const entry of entries) this.events.failed?.(entry, error);
    const firstSeq = (entries[0] as OutboxEntry).seq;
    const hold = this.held.get(key);
    if (hold?.failed) {
      // Later messages of a paused key fail too; remember the earliest row so the resume re-reads from it.
      hold.fromSeq = Math.min(hold.fromSeq, firstSeq);
      return;
    }
    // A key waiting for its rate has failed meanwhile: the back-off replaces the wait.
    hold?.cancelResume();
    this.consecutiveFailures++;
    const delay = backoffDelay(this.consecutiveFailures, this.options.backoff, this.random);
    this.hold(key, Math.min(firstSeq, hold?.fromSeq ?? firstSeq), delay, true);
  }

  private hold(key: string, fromSeq: number, delayMs: number, failed: boolean): void {
    const hold: Hold = { fromSeq, failed, cancelResume: () => undefined };
    hold.cancelResume = this.clock.schedule(() => {
      this.held.delete(key);
      if (failed) this.topic.resumePublishing(key);
      this.cursor = Math.min(this.cursor, hold.fromSeq - 1);
      this.notify();
    }, delayMs);
    this.held.set(key, hold);
  }

  /** Stops publishing new rows; waits up to `timeoutMs` for outstanding ones to be confirmed. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    for (const hold of this.held.values()) hold.cancelResume();
    this.held.clear();
    if (this.inFlight.size === 0) return;
    await new Promise<void>((resolve) => {
      const cancelTimeout = this.clock.schedule(resolve, timeoutMs);
      this.settledWaiters.push(() => {
        cancelTimeout();
        resolve();
      });
    });
  }
}
