// The stage between the window engine and the outbox. Windows closed during one event-loop turn (one
// MQTT packet can close many) are encoded and appended in one transaction: one fsync for all of them.
// When the outbox cannot be written (a full disk, say), the windows wait in memory and every later
// flush retries them; beyond a bound the oldest are dropped, and every drop is counted.
// With a checkpoint source, each write also carries the checkpoints of the machines whose windows it
// holds, so a restart never finds a window in the outbox its machine's checkpoint does not account
// for; `checkpoint()` adds every machine changed since its last checkpoint (the periodic checkpoint).
// A checkpoint holds what changed since the machine's previous one: after a failed write, the
// machines it carried are checkpointed complete in the next (or, for one the engine forgot since,
// the failed checkpoint is written again: it still holds all that changed since the stored one).
// The engine is told (`notWritten`): it keeps such a machine until a checkpoint of it is written, so a
// reading of it never recalls the older stored one.
import { performance } from 'node:perf_hooks';
import { type MachineWindow, encodeMachineWindow } from '@pdm/proto';
import type { CheckpointRecord } from '../window/index.js';
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
  /** A periodic checkpoint committed: how many machines, how many bytes of state (headers and pane rows), how long it took. */
  checkpointed?(machines: number, bytes: number, seconds: number): void;
}

/** The window engine as the writer sees it (WindowEngine.changedMachines / checkpoint). */
export interface CheckpointSource {
  changedMachines(): string[];
  /**
   * Takes a machine's checkpoint now, marking it saved: what changed since its last one, or all of
   * it when `complete`; undefined when the engine holds none.
   */
  checkpoint(machineId: string, complete: boolean): CheckpointRecord | undefined;
  /** A checkpoint taken of the machine was not written: it must stay held (and changed) until one is. */
  notWritten(machineId: string): void;
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
  /** The last checkpoint of each machine taken for a write that failed: taken again, complete, for the next one. */
  private readonly unsaved = new Map<string, CheckpointRecord>();

  constructor(
    private readonly outbox: Pick<Outbox, 'append'>,
    private readonly events: OutboxWriterEvents = {},
    private readonly maxPending = MAX_PENDING_WINDOWS,
    private readonly source?: CheckpointSource,
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
    this.write(this.pending.map((w) => w.machineId));
  }

  /**
   * The periodic checkpoint: every pending window and the checkpoint of every machine changed since
   * its last one, in one transaction. False when the outbox could not be written (retried next time).
   * `taken`: checkpoints the caller took itself (the engine's `suspend` at a stop), written instead.
   */
  checkpoint(taken?: readonly CheckpointRecord[]): boolean {
    this.flushScheduled = false;
    const started = performance.now();
    const written = taken ? this.write([], taken) : this.write(this.source?.changedMachines() ?? []);
    if (written !== undefined) this.events.checkpointed?.(written.machines, written.bytes, (performance.now() - started) / 1000);
    return written !== undefined;
  }

  /**
   * Appends the pending windows with the `taken` checkpoints and those of `machines` (and of any a
   * failed write left unsaved).
   */
  private write(machines: readonly string[], taken: readonly CheckpointRecord[] = []): { machines: number; bytes: number } | undefined {
    // A taken checkpoint holds what changed since the last one taken, which a failed write may not
    // have stored: that one goes first.
    const checkpoints: CheckpointRecord[] = [];
    for (const c of taken) {
      const failed = this.unsaved.get(c.machineId);
      if (failed) checkpoints.push(failed);
      checkpoints.push(c);
      this.unsaved.delete(c.machineId);
    }
    if (this.source) {
      for (const machineId of new Set([...this.unsaved.keys(), ...machines])) {
        const checkpoint = this.source.checkpoint(machineId, this.unsaved.has(machineId)) ?? this.unsaved.get(machineId);
        if (checkpoint !== undefined) checkpoints.push(checkpoint);
      }
    }
    const bytes = checkpoints.reduce((sum, c) => c.panes.reduce((s, p) => s + p.stats.byteLength, sum + c.header.byteLength), 0);
    try {
      this.outbox.append(this.pending.map(toRecord), checkpoints);
    } catch (error) {
      for (const c of checkpoints) {
        if (!taken.includes(c)) this.unsaved.set(c.machineId, c);
        this.source?.notWritten(c.machineId);
      }
      this.lastWriteFailed = true;
      this.events.writeFailed?.(error as Error, this.pending.length);
      const excess = this.pending.length - this.maxPending;
      if (excess > 0) {
        this.pending.splice(0, excess);
        this.events.dropped?.(excess);
      }
      return undefined;
    }
    this.unsaved.clear();
    this.lastWriteFailed = false;
    if (this.pending.length > 0) this.events.written?.(this.pending.splice(0));
    return { machines: checkpoints.length, bytes };
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
