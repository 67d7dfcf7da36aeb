// The stage between the window engine and the outbox. Windows closed during one event-loop turn (one
// MQTT packet can close many) are encoded and appended in one transaction: one fsync for all of them.
// When the outbox cannot be written (a full disk, say), the windows wait in memory and every later
// flush retries them; beyond a bound the oldest are dropped, and every drop is counted.
import { type MachineWindow, encodeMachineWindow } from '@pdm/proto';
import type { Outbox, OutboxRecord } from './outbox.js';

/** Windows waiting for the outbox while it cannot be written; beyond this the oldest are dropped. */
export const MAX_PENDING_WINDOWS = 100_000;

export interface OutboxWriterEvents {
  /** Windows committed to the outbox, in the order they closed. */
  written?(windows: readonly MachineWindow[]): void;
  /** An append failed; `pending` windows wait in memory for the next flush. */
  writeFailed?(error: Error, pending: number): void;
  /** Pending windows dropped, the oldest first, because more than the bound waited (data loss). */
  dropped?(windows: number): void;
}

const toRecord = (window: MachineWindow): OutboxRecord => ({
  machineId: window.machineId,
  windowStart: Number(window.windowStart),
  featureVersion: window.featureVersion,
  revision: window.revision,
  payload: encodeMachineWindow(window),
});

export class OutboxWriter {
  private readonly pending: MachineWindow[] = [];
  private flushScheduled = false;
  private lastWriteFailed = false;

  constructor(
    private readonly outbox: Pick<Outbox, 'append'>,
    private readonly events: OutboxWriterEvents = {},
    private readonly maxPending = MAX_PENDING_WINDOWS,
  ) {}

  /** Takes a closed window; it is written with the others of this turn at the start of the next. */
  add(window: MachineWindow): void {
    this.pending.push(window);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Not a timer on the gateway clock: it only gathers what this turn closed, whatever the time.
    setImmediate(() => this.flush());
  }

  /** Writes every pending window now, in one transaction; on failure keeps them for the next flush. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    try {
      this.outbox.append(this.pending.map(toRecord));
    } catch (error) {
      this.lastWriteFailed = true;
      this.events.writeFailed?.(error as Error, this.pending.length);
      const excess = this.pending.length - this.maxPending;
      if (excess > 0) {
        this.pending.splice(0, excess);
        this.events.dropped?.(excess);
      }
      return;
    }
    this.lastWriteFailed = false;
    this.events.written?.(this.pending.splice(0));
  }

  /** False from a failed write until the next successful one. */
  writable(): boolean {
    return !this.lastWriteFailed;
  }

  /** Windows waiting to be written. */
  pendingCount(): number {
    return this.pending.length;
  }
}
