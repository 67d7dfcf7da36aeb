// Drains the outbox into Pub/Sub. Rows are published in outbox order, in the messages a
// FeatureMessageFormat makes of them (one window each with ordering key = machine id, or batches per
// shard with ordering key = gateway and shard); a row leaves the outbox only when Pub/Sub confirmed
// the message that carried it. At most `maxInFlight` windows are outstanding, so a slow or dead link
// backs up into the outbox on disk, not into memory, and no ordering key is sent more than
// `keyMaxBytesPerSecond` (Pub/Sub's limit is 1 MB/s per key). When a publish fails, the client pauses
// that ordering key; we back off and resume it. The outbox is read forward once: the rows of a key
// that may not send for now (held by a back-off or its rate) are kept back by seq and size, only
// numbers in memory, and read again by seq when it may send, a second of its rate at a time, so a
// drain with every key held does not re-read the outbox. Order per key (and so per machine) is kept:
// a key's kept rows go before its newer ones.
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
  /** The outbox could not be read (an I/O error): nothing was lost, the next notify() reads again. */
  readFailed?(error: Error): void;
}

export type PublisherState = 'idle' | 'publishing' | 'backing_off' | 'stopped';

/** An ordering key that may not send for now, and how it resumes. */
interface Hold {
  /** A failure paused the key in the client (a back-off), rather than its rate. */
  failed: boolean;
  cancelResume: Cancel;
}

/**
 * The messages one pass over the outbox published. A row is removed from the outbox as soon as its
 * message is confirmed (it no longer counts toward depth, bytes and the bounds), but the deletes are
 * committed together once every message of the pass settled (confirmed or refused), so a boundary's
 * batches, confirmed one by one, take one delete transaction, not one per batch (each rewrote most of
 * the table's pages in the WAL). A crash in between sends those rows again, which their idempotency
 * keys make harmless, as for any delete not yet committed.
 */
interface Pass {
  unsettled: number;
}

/**
 * How long the deletes of confirmed rows wait at most for the rest of their pass: a message of a
 * stalled key settles only at the client's timeout (a minute), and the keys behind it later still.
 */
const DELETES_WAIT_AT_MOST_MS = 1_000;

/** A row read and not published: what is needed to read it again and to know what its rate allows. */
interface KeptRow {
  seq: number;
  bytes: number;
}

export class OutboxPublisher {
  /** Rows of messages published and not yet settled, by seq. */
  private readonly inFlight = new Map<number, OutboxEntry>();
  private readonly held = new Map<string, Hold>();
  /** Per ordering key, in outbox order, its rows behind the cursor not published: the key was held, or had no room in flight. */
  private readonly kept = new Map<string, KeptRow[]>();
  private readonly rate: KeyRateLimiter;
  /** The last seq read; it only moves forward (kept rows are read again by seq). */
  private cursor = 0;
  private consecutiveFailures = 0;
  private stopped = false;
  private pumping = false;
  /** A later turn of the event loop reads the outbox on (publishAhead's budget ran out). */
  private readOnScheduled = false;
  private settledWaiters: Array<() => void> = [];
  /** The pass of the notify() running, which its messages join. */
  private pass: Pass | undefined;
  /** Cancels the timer that commits the deletes of confirmed rows whose pass is still out. */
  private cancelDeletes: Cancel | undefined;

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
    this.pass = { unsettled: 0 };
    try {
      this.publishKept();
      this.publishAhead();
    } catch (error) {
      // Called from timers and confirmations too, where a throw would end the process.
      this.events.readFailed?.(error as Error);
    } finally {
      this.pumping = false;
      this.pass = undefined;
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

  private room(): number {
    return this.options.maxInFlight - this.inFlight.size;
  }

  /**
   * Publishes the kept rows of the keys that may send, from each key's oldest: up to a second of its
   * rate (at least one row) and what fits in flight, read again by seq once its rate lets them all go,
   * so a drain sends full batches (a full second waits for a full bucket: the batch's framing on top
   * of the windows may then go too) and reads each kept row about once.
   */
  private publishKept(): void {
    const second = this.options.keyMaxBytesPerSecond;
    for (const [key, rows] of this.kept) {
      if (this.stopped || this.room() <= 0) return;
      if (this.held.has(key)) continue;
      let count = 1;
      let bytes = (rows[0] as KeptRow).bytes;
      while (count < rows.length && count < this.room() && bytes + (rows[count] as KeptRow).bytes <= second) bytes += (rows[count++] as KeptRow).bytes;
      const fullSecond = count < rows.length && count < this.room();
      const wait = this.rate.waitMs(key, fullSecond ? second : bytes, this.clock.now());
      if (wait > 0) {
        this.hold(key, wait, false);
        continue;
      }
      const entries = rows.slice(0, count).flatMap((row) => this.read(row.seq) ?? []);
      const unsent = this.publishKey(key, entries);
      rows.splice(0, count, ...unsent.map(keptRow));
      if (rows.length === 0) this.kept.delete(key);
    }
  }

  /**
   * Reads the outbox on from the cursor; the rows of keys held or with rows kept are kept behind them.
   * At most `maxInFlight` rows a call: with every key held, the rest is read in later turns of the
   * event loop, so a long outbox does not stall ingest and window ticks while it is read through.
   */
  private publishAhead(): void {
    let budget = this.options.maxInFlight;
    while (!this.stopped && this.room() > 0) {
      if (budget === 0) {
        this.readOnLater();
        return;
      }
      const want = Math.min(this.room(), budget);
      const entries = this.outbox.peek(this.cursor, want);
      budget -= entries.length;
      const byKey = new Map<string, OutboxEntry[]>();
      for (const entry of entries) {
        this.cursor = entry.seq;
        const key = this.format.keyOf(entry);
        if (this.held.has(key) || this.kept.has(key)) {
          this.keep(key, [entry]);
          continue;
        }
        const keyEntries = byKey.get(key);
        if (keyEntries) keyEntries.push(entry);
        else byKey.set(key, [entry]);
      }
      for (const [key, keyEntries] of byKey) {
        const unsent = this.publishKey(key, keyEntries);
        if (unsent.length > 0) this.keep(key, unsent);
      }
      if (entries.length < want) return;
    }
  }

  private readOnLater(): void {
    if (this.readOnScheduled) return;
    this.readOnScheduled = true;
    setImmediate(() => {
      this.readOnScheduled = false;
      this.notify();
    });
  }

  /** Publishes the messages of one key's rows in order, until its rate says to wait; returns the rows not sent. */
  private publishKey(key: string, entries: readonly OutboxEntry[]): OutboxEntry[] {
    for (const message of this.format.messages(entries)) {
      const now = this.clock.now();
      const wait = this.rate.waitMs(key, message.data.byteLength, now);
      if (wait > 0) {
        this.hold(key, wait, false);
        return entries.slice(entries.indexOf(message.entries[0] as OutboxEntry));
      }
      this.rate.spend(key, message.data.byteLength, now);
      this.publish(key, message);
    }
    return [];
  }

  /** The row `seq`, or nothing when the outbox dropped it at a bound meanwhile. */
  private read(seq: number): OutboxEntry | undefined {
    const [entry] = this.outbox.peek(seq - 1, 1);
    return entry?.seq === seq ? entry : undefined;
  }

  /** Adds rows (in outbox order) to the key's kept rows, in outbox order. */
  private keep(key: string, entries: readonly OutboxEntry[]): void {
    const rows = this.kept.get(key);
    const added = entries.map(keptRow);
    if (!rows) this.kept.set(key, added);
    // Rows read ahead come after every kept one; the rows of a failed message may come before some.
    else if ((rows[rows.length - 1] as KeptRow).seq < (added[0] as KeptRow).seq) rows.push(...added);
    else this.kept.set(key, [...rows, ...added].sort((x, y) => x.seq - y.seq));
  }

  private publish(key: string, message: FeatureMessage): void {
    for (const entry of message.entries) this.inFlight.set(entry.seq, entry);
    const pass = this.pass as Pass; // publish runs inside notify()
    pass.unsettled++;
    const started = this.clock.now();
    this.topic
      // A Buffer over the message's bytes, not a copy of them.
      .publishMessage({ data: Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength), attributes: message.attributes, orderingKey: key })
      .then(
        () => {
          this.consecutiveFailures = 0;
          const latencyMs = this.clock.now() - started;
          for (const entry of message.entries) {
            this.outbox.remove(entry.seq, 'by-caller');
            this.events.published?.(entry, latencyMs);
          }
        },
        (error: unknown) => this.onFailure(key, message.entries, error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        if (--pass.unsettled === 0 || this.stopped) this.commitDeletes();
        else this.cancelDeletes ??= this.clock.schedule(() => this.commitDeletes(), DELETES_WAIT_AT_MOST_MS);
        for (const entry of message.entries) this.inFlight.delete(entry.seq);
        if (this.inFlight.size === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
        this.notify();
      });
  }

  /** Commits the deletes of the rows confirmed so far (see Pass). */
  private commitDeletes(): void {
    this.cancelDeletes?.();
    this.cancelDeletes = undefined;
    this.outbox.flushRemovals();
  }

  private onFailure(key: string, entries: readonly OutboxEntry[], error: Error): void {
    for (const entry of entries) this.events.failed?.(entry, error);
    // Stopped: the rows stay in the outbox for the next start; a back-off timer would only keep the process alive.
    if (this.stopped) return;
    this.keep(key, entries);
    const hold = this.held.get(key);
    // Later messages of a paused key fail too: one back-off for them all.
    if (hold?.failed) return;
    // A key waiting for its rate has failed meanwhile: the back-off replaces the wait.
    hold?.cancelResume();
    this.consecutiveFailures++;
    this.hold(key, backoffDelay(this.consecutiveFailures, this.options.backoff, this.random), true);
  }

  private hold(key: string, delayMs: number, failed: boolean): void {
    const hold: Hold = { failed, cancelResume: () => undefined };
    hold.cancelResume = this.clock.schedule(() => {
      this.held.delete(key);
      if (failed) this.topic.resumePublishing(key);
      this.notify();
    }, delayMs);
    this.held.set(key, hold);
  }

  /** Stops publishing new rows; waits up to `timeoutMs` for outstanding ones to be confirmed. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    for (const hold of this.held.values()) hold.cancelResume();
    this.held.clear();
    if (this.inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        const cancelTimeout = this.clock.schedule(resolve, timeoutMs);
        this.settledWaiters.push(() => {
          cancelTimeout();
          resolve();
        });
      });
    }
    // Rows confirmed while a message of their pass is still out: deleted now, not sent again after a restart.
    this.commitDeletes();
  }
}

const keptRow = (entry: OutboxEntry): KeptRow => ({ seq: entry.seq, bytes: entry.payload.byteLength });
