// Drains the outbox into Pub/Sub. Entries are published in outbox order with ordering key = machine
// id; a row leaves the outbox only when Pub/Sub confirmed it. At most `maxInFlight` messages are
// outstanding, so a slow or dead link backs up into the outbox on disk, not into memory. When a
// publish fails, the client pauses that ordering key; we back off, resume it and re-read the
// machine's rows from the first unconfirmed one, so order per machine is kept.
import type { Topic } from '@google-cloud/pubsub';
import { type BackoffOptions, type Cancel, type Clock, backoffDelay, systemClock } from '@pdm/clock';
import type { Outbox, OutboxEntry } from '../outbox/index.js';

export interface PublisherOptions {
  /** Messages published but not yet confirmed, at most. */
  maxInFlight: number;
  /**
   * Back-off after a failed publish: initial delay, growth factor, cap, and jitter, so the gateways
   * of a site that lost the link together do not all retry in the same instant when it returns.
   */
  backoff: BackoffOptions;
}

export interface PublisherEvents {
  published?(entry: OutboxEntry, latencyMs: number): void;
  failed?(entry: OutboxEntry, error: Error): void;
}

export type PublisherState = 'idle' | 'publishing' | 'backing_off' | 'stopped';

export class OutboxPublisher {
  private readonly inFlight = new Map<number, OutboxEntry>();
  /** Machines whose ordering key is paused after a failure: the first row to re-read, and the resume. */
  private readonly paused = new Map<string, { fromSeq: number; cancelResume: Cancel }>();
  private cursor = 0;
  private consecutiveFailures = 0;
  private stopped = false;
  private pumping = false;
  private settledWaiters: Array<() => void> = [];

  constructor(
    private readonly outbox: Outbox,
    private readonly topic: Topic,
    private readonly attributes: Record<string, string>,
    private readonly options: PublisherOptions,
    private readonly events: PublisherEvents = {},
    /** Back-off, the stop timeout and publish latency run on it. */
    private readonly clock: Clock = systemClock,
    /** The back-off's jitter source, [0, 1). */
    private readonly random: () => number = Math.random,
  ) {}

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
    if (this.paused.size > 0) return 'backing_off';
    return this.inFlight.size > 0 ? 'publishing' : 'idle';
  }

  inFlightCount(): number {
    return this.inFlight.size;
  }

  private pump(): void {
    while (!this.stopped && this.inFlight.size < this.options.maxInFlight) {
      const want = this.options.maxInFlight - this.inFlight.size;
      const entries = this.outbox.peek(this.cursor, want);
      for (const entry of entries) {
        this.cursor = entry.seq;
        if (this.inFlight.has(entry.seq) || this.paused.has(entry.machineId)) continue;
        this.publish(entry);
      }
      if (entries.length < want) return;
    }
  }

  private publish(entry: OutboxEntry): void {
    this.inFlight.set(entry.seq, entry);
    const started = this.clock.now();
    this.topic
      .publishMessage({ data: Buffer.from(entry.payload), attributes: this.attributes, orderingKey: entry.machineId })
      .then(
        () => {
          this.consecutiveFailures = 0;
          this.outbox.remove(entry.seq, entry.payload.byteLength);
          this.events.published?.(entry, this.clock.now() - started);
        },
        (error: unknown) => this.onFailure(entry, error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        this.inFlight.delete(entry.seq);
        if (this.inFlight.size === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
        this.notify();
      });
  }

  private onFailure(entry: OutboxEntry, error: Error): void {
    this.events.failed?.(entry, error);
    const pause = this.paused.get(entry.machineId);
    if (pause) {
      // Later rows of a paused key fail too; remember the earliest so the resume re-reads from it.
      pause.fromSeq = Math.min(pause.fromSeq, entry.seq);
      return;
    }
    this.consecutiveFailures++;
    const delay = backoffDelay(this.consecutiveFailures, this.options.backoff, this.random);
    const cancelResume = this.clock.schedule(() => {
      const resumed = this.paused.get(entry.machineId);
      this.paused.delete(entry.machineId);
      this.topic.resumePublishing(entry.machineId);
      if (resumed) this.cursor = Math.min(this.cursor, resumed.fromSeq - 1);
      this.notify();
    }, delay);
    this.paused.set(entry.machineId, { fromSeq: entry.seq, cancelResume });
  }

  /** Stops publishing new rows; waits up to `timeoutMs` for outstanding ones to be confirmed. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    for (const pause of this.paused.values()) pause.cancelResume();
    this.paused.clear();
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
