// The stage between the window engine and the outbox. Windows closed during one event-loop turn (one
// MQTT packet can close many) are encoded and appended at the start of the next, with the checkpoints
// of their machines, in transactions of at most `sliceMachines` machines and `sliceWindows` windows
// (a machine with more goes alone), one per turn: a boundary
// where 1,000 machines close their windows at once is written in a few short turns between which
// ingest goes on, not in one long one. A machine's windows and its checkpoint always go in the same
// transaction (all its pending windows, oldest first), so a restart never finds a window in the
// outbox its machine's checkpoint does not account for, and a crash between two slices loses nothing
// committed: the machines of the slices not written yet kept their checkpoints unsaved and their
// windows were never reported written. While windows keep closing by the dozen turn after turn (the
// readings of a boundary arriving socket read by socket read), the writer gathers them for a few
// turns into full slices rather than writing each turn's: every transaction of windows costs an
// fsync. The slices of one boundary are published together, one message per shard for them all (the
// publisher is woken after the last, once nothing is left to write and windows stopped closing by the dozen),
// but while the backlog never empties at least every PUBLISH_SLICES slices, so what is written is
// published even when closing never stops.
// When the outbox cannot be written (a full disk, say), the windows wait in memory and every later
// flush retries them; beyond a bound the oldest are dropped, and every drop is counted.
// `checkpoint()` (the periodic checkpoint) adds every machine changed since its last checkpoint,
// written in the same slices. A slice of checkpoints alone commits without an fsync
// (synchronous=NORMAL, see outbox.ts): a power cut may lose it, never a process kill; a slice with
// windows commits with one, and makes every earlier slice durable with it.
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

/**
 * Machines (their windows and checkpoints) one transaction, and so one event-loop turn, holds at
 * most. At 1,000 machines this box writes ~5 per ms: a slice of 100 keeps a turn near 20 ms, and
 * a boundary takes ten transactions (ten fsyncs) instead of one.
 */
export const SLICE_MACHINES = 100;

/**
 * Windows one transaction holds at most: after an outage a machine's backlog of windows would
 * otherwise make one slice of 100 machines hold N windows each. Two per machine of a full slice: a
 * boundary (one window each, perhaps a late revision) is not cut by it. A machine with more goes alone.
 */
export const SLICE_WINDOWS = 200;

/**
 * Slices reported written with more to come at most before one says to publish anyway: while
 * windows close faster than slices take them, something is always pending. Twice the slices of a
 * boundary of 1,000 machines (ten, eleven when its readings arrive over a few turns), which still
 * goes out as one batch per shard.
 */
export const PUBLISH_SLICES = 20;

/** Turns the writer waits at most, while windows keep closing, to fill a slice. */
export const GATHER_TURNS = 8;

/** Windows closed in the turn after a write that make it a burst, worth gathering into a fuller slice. */
const BURST_WINDOWS = 10;

export interface OutboxWriterEvents {
  /**
   * Windows committed to the outbox (one slice), in the order they closed. `more`: other windows
   * wait for the next turns' slices, or keep closing by the dozen: publishing can wait for them, one
   * message per shard for all. Never more than PUBLISH_SLICES - 1 slices in a row say `more`.
   * After a failed slice, or once the windows stopped closing with nothing left to write, it comes
   * with no windows and `more` false: publish what was written.
   */
  written?(windows: readonly MachineWindow[], more: boolean): void;
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

/** A periodic checkpoint being written in slices: what its slices wrote so far. */
interface CheckpointRun {
  machines: number;
  bytes: number;
  seconds: number;
}

export class OutboxWriter {
  private pending: MachineWindow[] = [];
  /** Machines a periodic checkpoint asked for and no slice has written yet, in the order asked. */
  private readonly due = new Set<string>();
  private run: CheckpointRun | undefined;
  private sliceScheduled = false;
  /** Windows added since the last scheduled turn looked. */
  private arrivals = 0;
  /** Whether the last scheduled turn wrote: windows arriving right after belong to the same burst. */
  private inBurst = false;
  private gatheredTurns = 0;
  /** Slices reported written with more to come since the last reported without. */
  private slicesAnnounced = 0;
  /** Whether the slice being written is written in a turn after windows closed by the dozen: more are likely to follow. */
  private stillClosing = false;
  private lastWriteFailed = false;
  /** The last checkpoint of each machine taken for a write that failed: taken again, complete, for the next one. */
  private readonly unsaved = new Map<string, CheckpointRecord>();

  constructor(
    private readonly outbox: Pick<Outbox, 'append'>,
    private readonly events: OutboxWriterEvents = {},
    private readonly maxPending = MAX_PENDING_WINDOWS,
    private readonly source?: CheckpointSource,
    private readonly sliceMachines = SLICE_MACHINES,
    private readonly sliceWindows = SLICE_WINDOWS,
  ) {}

  /** Takes a closed window; it is written with the others of this turn from the start of the next. */
  add(window: MachineWindow): void {
    this.pending.push(window);
    this.arrivals++;
    this.scheduleSlice();
  }

  /** Writes a slice of the pending windows now (the rest follow in later turns); on failure keeps them for the next flush. */
  flush(): void {
    this.writeSlice();
  }

  /**
   * The periodic checkpoint: the checkpoint of every machine changed since its last one, with the
   * pending windows, in slices: the first now, the rest in the next turns. False when the first
   * could not be written (the machines stay changed: the next checkpoint takes them again).
   * `taken`: checkpoints the caller took itself (the engine's `suspend` at a stop), written now in
   * one transaction with every pending window.
   */
  checkpoint(taken?: readonly CheckpointRecord[]): boolean {
    if (taken) {
      this.due.clear();
      const started = performance.now();
      // The taken checkpoints stand for their machines: only the others a failed write left unsaved are taken here.
      const machines = new Set(this.unsaved.keys());
      for (const c of taken) machines.delete(c.machineId);
      const written = this.write(machines, this.pending, [], taken, true);
      this.run = undefined;
      // The stop: what earlier slices wrote saying `more` goes out now too, even when this write held
      // no window; the publisher stops before any later turn.
      this.announceWritten();
      if (written !== undefined) this.events.checkpointed?.(written.machines, written.bytes, (performance.now() - started) / 1000);
      return written !== undefined;
    }
    for (const machineId of this.source?.changedMachines() ?? []) this.due.add(machineId);
    this.run ??= { machines: 0, bytes: 0, seconds: 0 };
    return this.writeSlice();
  }

  private scheduleSlice(): void {
    if (this.sliceScheduled) return;
    this.sliceScheduled = true;
    // Not a timer on the gateway clock: it only lets the turn that closed windows (or the last
    // slice) end, whatever the time.
    setImmediate(() => {
      this.sliceScheduled = false;
      this.nextTurn();
    });
  }

  /**
   * A turn after windows closed or a slice was written: writes the next slice, unless windows are
   * still closing by the dozen turn after turn (a burst) and a slice is not full yet: then it waits
   * a turn, at most GATHER_TURNS. After a write it looks again next turn.
   */
  private nextTurn(): void {
    const arrived = this.arrivals;
    this.arrivals = 0;
    const closing = arrived >= BURST_WINDOWS;
    // A slice the tick or a periodic checkpoint wrote saying `more` since (with the first windows of a
    // burst, before this turn) is part of the burst too: saying to publish here would cut it in pieces.
    const burst = this.inBurst || this.slicesAnnounced > 0;
    if (burst && closing && !this.pendingFillASlice() && this.gatheredTurns < GATHER_TURNS) {
      this.gatheredTurns++;
      this.scheduleSlice();
      return;
    }
    this.gatheredTurns = 0;
    if (this.pending.length === 0 && this.due.size === 0) {
      // The windows stopped closing: what the slices of the burst wrote goes out now.
      this.inBurst = false;
      this.announceWritten();
      return;
    }
    // A failed write ends the burst: the next flush retries at once.
    this.stillClosing = closing;
    this.inBurst = this.writeSlice();
    this.stillClosing = false;
    if (this.inBurst) this.scheduleSlice();
  }

  /** Says to publish what the slices that said `more` wrote, if any did. */
  private announceWritten(): void {
    if (this.slicesAnnounced === 0) return;
    this.slicesAnnounced = 0;
    this.events.written?.([], false);
  }

  /** Whether the pending windows would fill a slice: `sliceMachines` machines or `sliceWindows` windows. */
  private pendingFillASlice(): boolean {
    if (this.pending.length >= this.sliceWindows) return true;
    const machines = new Set<string>();
    for (const window of this.pending) {
      machines.add(window.machineId);
      if (machines.size >= this.sliceMachines) return true;
    }
    return false;
  }

  /**
   * Writes the next slice: the machines of the oldest pending windows (and any a failed write left
   * unsaved), then machines a checkpoint asked for, up to `sliceMachines` machines and
   * `sliceWindows` windows, each with all its pending windows and its checkpoint. Schedules the next
   * slice while any is left. False when it failed.
   */
  private writeSlice(): boolean {
    const run = this.run;
    if (this.pending.length === 0 && this.due.size === 0 && this.unsaved.size === 0 && run === undefined) return true;
    const machines = new Set(this.unsaved.keys());
    const windowsOf = new Map<string, number>();
    for (const window of this.pending) windowsOf.set(window.machineId, (windowsOf.get(window.machineId) ?? 0) + 1);
    let windows = 0;
    for (const machineId of machines) windows += windowsOf.get(machineId) ?? 0;
    // Machines are taken in the order their oldest window closed, until the next does not fit.
    let full = false;
    const slice: MachineWindow[] = [];
    const rest: MachineWindow[] = [];
    for (const window of this.pending) {
      if (!full && !machines.has(window.machineId)) {
        const count = windowsOf.get(window.machineId) ?? 0;
        full = machines.size >= this.sliceMachines || (windows > 0 && windows + count > this.sliceWindows);
        if (!full) {
          machines.add(window.machineId);
          windows += count;
        }
      }
      if (machines.has(window.machineId)) slice.push(window);
      else rest.push(window);
    }
    // Only once every pending window is in the slice: a machine checkpointed has all its windows in it.
    for (const machineId of this.due) {
      if (rest.length > 0 || machines.size >= this.sliceMachines) break;
      machines.add(machineId);
    }
    for (const machineId of machines) this.due.delete(machineId);
    const started = performance.now();
    const written = this.write(machines, slice, rest);
    if (written === undefined) {
      this.run = undefined;
      return false;
    }
    if (run) {
      run.machines += written.machines;
      run.bytes += written.bytes;
      run.seconds += (performance.now() - started) / 1000;
      if (this.due.size === 0) {
        this.run = undefined;
        this.events.checkpointed?.(run.machines, run.bytes, run.seconds);
      }
    }
    if (this.pending.length > 0 || this.due.size > 0) this.scheduleSlice();
    return true;
  }

  /**
   * Appends `slice` (pending windows, every one of `machines`' among them) in one transaction with
   * the checkpoints of `machines` and the `taken` ones; once written, `rest` is what stays pending.
   * `last`: the write at a stop, which says to publish at once. Returns what it wrote, undefined when
   * the append failed (every window stays pending).
   */
  private write(
    machines: ReadonlySet<string>,
    slice: readonly MachineWindow[],
    rest: MachineWindow[],
    taken: readonly CheckpointRecord[] = [],
    last = false,
  ): { machines: number; bytes: number } | undefined {
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
      for (const machineId of machines) {
        const checkpoint = this.source.checkpoint(machineId, this.unsaved.has(machineId)) ?? this.unsaved.get(machineId);
        if (checkpoint !== undefined) checkpoints.push(checkpoint);
      }
    }
    const bytes = checkpoints.reduce((sum, c) => c.panes.reduce((s, p) => s + p.stats.byteLength, sum + c.header.byteLength), 0);
    try {
      this.outbox.append(slice.map(toRecord), checkpoints);
    } catch (error) {
      for (const c of checkpoints) {
        if (!taken.includes(c)) this.unsaved.set(c.machineId, c);
        this.source?.notWritten(c.machineId);
      }
      this.lastWriteFailed = true;
      this.events.writeFailed?.(error as Error, this.pending.length);
      this.announceWritten();
      const excess = this.pending.length - this.maxPending;
      if (excess > 0) {
        this.pending.splice(0, excess);
        this.events.dropped?.(excess);
      }
      return undefined;
    }
    this.unsaved.clear();
    this.lastWriteFailed = false;
    this.pending = rest;
    if (slice.length > 0) {
      // A slice written by the tick's flush or a periodic checkpoint while a turn is already
      // scheduled (a burst going on) leaves the publish to that turn, which writes the rest or says
      // to publish; the last write, at a stop, is published at once.
      const more = !last && (rest.length > 0 || this.stillClosing || this.sliceScheduled) && this.slicesAnnounced < PUBLISH_SLICES - 1;
      this.slicesAnnounced = more ? this.slicesAnnounced + 1 : 0;
      this.events.written?.(slice, more);
    }
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
