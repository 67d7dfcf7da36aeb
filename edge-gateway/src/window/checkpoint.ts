// A machine's window state in binary, for the gateway's checkpoints, written incrementally: a small
// header (closed frontier, revision counters, each sensor's event time and learned rate) rewritten
// whenever the machine changed, and one row per pane start holding its sensors' accumulators (nine
// float64s each), written only when one of them took readings since the last checkpoint. Closed panes
// kept for revisions and trailing sensors are written once, not every interval. (A row per pane
// start, not per sensor pane: sensors of a machine report together, and one statement per row is
// most of a checkpoint's cost.) Numbers travel as float64: restored, the
// engine holds bit for bit what it held, and carries on as if it had never stopped: late data
// re-emits a window as revision + 1, never as a revision already sent with other content.
import type { RateSnapshot } from './rate-estimator.js';
import { type MachineState, Pane } from './state.js';

/** Bump when the layout changes; a checkpoint of another version is not restored. */
export const CHECKPOINT_VERSION = 2;

/**
 * The sensors' accumulators of one pane start: per sensor its id, then
 * [n, shift, shiftedMean, m2, m3, m4, min, max, late] as float64.
 */
export interface CheckpointPane {
  paneStart: number;
  stats: Uint8Array;
}

/**
 * What one checkpoint of a machine writes: its header, the pane rows that changed, and which of its
 * stored pane rows go first (all of them when the stored ones no longer match, those starting before
 * `dropBefore` once the engine dropped them).
 */
export interface CheckpointRecord {
  machineId: string;
  header: Uint8Array;
  panes: CheckpointPane[];
  dropAll: boolean;
  dropBefore: number | undefined;
}

/** A machine's checkpoint as stored: its header and every pane row. */
export interface StoredCheckpoint {
  machineId: string;
  header: Uint8Array;
  panes: readonly CheckpointPane[];
}

/** What the header says of a sensor. A live SensorState is one: a checkpoint encodes it without a copy. */
export interface SensorHeader {
  readonly id: string;
  readonly maxTs: number;
  readonly firstPaneStart: number;
  readonly rate: RateSnapshot;
}

export interface MachineHeader {
  /** The geometry the panes were cut with: panes of another geometry are not restored. */
  windowMs: number;
  paneMs: number;
  maxTs: number;
  closedFloor: number;
  trailFrom: number;
  /** window start → last revision emitted */
  revisions: ReadonlyMap<number, number>;
  dirty: ReadonlySet<number>;
  filling: ReadonlySet<number>;
  sensors: readonly SensorHeader[];
}

const PANE_FIELDS = 9;

/**
 * The header of `machine` as it is now, reading its live state (no copy): encode it before the
 * machine changes. `machineHeader` is the copy that stays as it is.
 */
export function liveMachineHeader(machine: MachineState, windowMs: number, paneMs: number): MachineHeader {
  const { maxTs, closedFloor, trailFrom, revisions, dirty, filling } = machine;
  return { windowMs, paneMs, maxTs, closedFloor, trailFrom, revisions, dirty, filling, sensors: machine.sortedSensors() };
}

/** A copy of the header of `machine` as it is now, which its later changes leave alone. */
export function machineHeader(machine: MachineState, windowMs: number, paneMs: number): MachineHeader {
  const live = liveMachineHeader(machine, windowMs, paneMs);
  return {
    ...live,
    revisions: new Map(live.revisions),
    dirty: new Set(live.dirty),
    filling: new Set(live.filling),
    sensors: live.sensors.map(({ id, maxTs, firstPaneStart, rate }) => ({ id, maxTs, firstPaneStart, rate: { blockHz: rate.blockHz, paneCounts: [...rate.paneCounts] } })),
  };
}

/**
 * The pane row at one start: the i-th sensor id with the i-th pane, for the first `count` of
 * them (arrays a caller reuses from row to row).
 */
export function encodePaneRow(sensorIds: readonly string[], panes: readonly Pane[], count: number): Uint8Array {
  const w = new Writer();
  w.u32(count);
  for (let i = 0; i < count; i++) {
    const p = panes[i] as Pane;
    w.text(sensorIds[i] as string);
    w.f64(p.n);
    w.f64(p.shift);
    w.f64(p.shiftedMean);
    w.f64(p.m2);
    w.f64(p.m3);
    w.f64(p.m4);
    w.f64(p.min);
    w.f64(p.max);
    w.f64(p.late);
  }
  return w.done();
}

/** The sensor panes of a pane row; throws when the bytes are no pane row. */
export function decodePaneRow(bytes: Uint8Array): Array<[sensorId: string, pane: Pane]> {
  const r = new Reader(bytes);
  const entries = Array.from({ length: r.count(4 + PANE_FIELDS * 8) }, (): [string, Pane] => {
    const sensorId = r.text();
    const pane = new Pane();
    pane.n = r.f64();
    pane.shift = r.f64();
    pane.shiftedMean = r.f64();
    pane.m2 = r.f64();
    pane.m3 = r.f64();
    pane.m4 = r.f64();
    pane.min = r.f64();
    pane.max = r.f64();
    pane.late = r.f64();
    return [sensorId, pane];
  });
  r.end();
  return entries;
}

/**
 * Little-endian float64s and length-prefixed strings into one scratch buffer shared by every encode
 * (they run one at a time), through a DataView, copied out when done into a buffer of exactly the
 * bytes written carved from Node's pool of small buffers (Buffer.allocUnsafe): a checkpoint encodes
 * thousands of rows a second, and a buffer of their own each (grown as they filled, or an exact-size
 * ArrayBuffer each) was most of its cost. The rows are written within the turn and let go (a failed
 * write keeps its machines' last ones, taken one after another: they fill the pool's slabs they hold).
 */
let scratch = Buffer.alloc(64 * 1024);
let view = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
// Kept as a number: reading a Buffer's byteLength at every write was most of a write's cost.
let capacity = scratch.byteLength;

class Writer {
  private length = 0;

  private room(n: number): void {
    if (this.length + n <= capacity) return;
    const bigger = Buffer.alloc(Math.max(capacity * 2, this.length + n));
    scratch.copy(bigger, 0, 0, this.length);
    scratch = bigger;
    view = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
    capacity = scratch.byteLength;
  }

  u32(v: number): void {
    this.room(4);
    view.setUint32(this.length, v, true);
    this.length += 4;
  }

  f64(v: number): void {
    this.room(8);
    view.setFloat64(this.length, v, true);
    this.length += 8;
  }

  /** The count of `values`, then each of them. */
  f64s(values: readonly number[]): void {
    this.u32(values.length);
    for (let i = 0; i < values.length; i++) this.f64(values[i] as number);
  }

  /** The count of `values`, then each of them in the set's order. */
  f64Set(values: ReadonlySet<number>): void {
    this.u32(values.size);
    values.forEach((v) => this.f64(v));
  }

  text(s: string): void {
    this.room(4 + s.length * 3); // at most 3 UTF-8 bytes per UTF-16 unit
    const at = this.length + 4;
    // Ids are ASCII as a rule: byte by byte, which a call into the UTF-8 encoder costs more than.
    let n = 0;
    while (n < s.length) {
      const code = s.charCodeAt(n);
      if (code >= 0x80) break;
      scratch[at + n++] = code;
    }
    if (n < s.length) n = scratch.write(s, at, 'utf8');
    this.u32(n);
    this.length += n;
  }

  done(): Uint8Array {
    const bytes = Buffer.allocUnsafe(this.length);
    scratch.copy(bytes, 0, 0, this.length);
    return bytes;
  }
}

class Reader {
  private readonly view: DataView;
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u32(): number {
    const v = this.view.getUint32(this.at, true); // throws past the end: a truncated header
    this.at += 4;
    return v;
  }

  f64(): number {
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }

  /** A count of items of at least `bytesEach` bytes, refused when the rest cannot hold them. */
  count(bytesEach: number): number {
    const n = this.u32();
    if (this.at + n * bytesEach > this.bytes.byteLength) throw new Error('checkpoint row truncated');
    return n;
  }

  f64s(): number[] {
    const n = this.count(8);
    return Array.from({ length: n }, () => this.f64());
  }

  text(): string {
    const n = this.count(1);
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.at, n).toString('utf8');
    this.at += n;
    return s;
  }

  end(): void {
    if (this.at !== this.bytes.byteLength) throw new Error('checkpoint row has trailing bytes');
  }
}

export function encodeMachineHeader(header: MachineHeader): Uint8Array {
  const w = new Writer();
  w.u32(CHECKPOINT_VERSION);
  w.f64(header.windowMs);
  w.f64(header.paneMs);
  w.f64(header.maxTs);
  w.f64(header.closedFloor);
  w.f64(header.trailFrom);
  // The revision pairs, flattened; forEach takes no [key, value] array per entry.
  w.u32(header.revisions.size * 2);
  header.revisions.forEach((revision, windowStart) => {
    w.f64(windowStart);
    w.f64(revision);
  });
  w.f64Set(header.dirty);
  w.f64Set(header.filling);
  w.u32(header.sensors.length);
  for (const sensor of header.sensors) {
    w.text(sensor.id);
    w.f64(sensor.maxTs);
    w.f64(sensor.firstPaneStart);
    w.f64(sensor.rate.blockHz);
    w.f64s(sensor.rate.paneCounts);
  }
  return w.done();
}

/** Reads a header; throws when the bytes are no header of this version. */
export function decodeMachineHeader(bytes: Uint8Array): MachineHeader {
  const r = new Reader(bytes);
  const version = r.u32();
  if (version !== CHECKPOINT_VERSION) throw new Error(`checkpoint version ${version}, expected ${CHECKPOINT_VERSION}`);
  const [windowMs, paneMs, maxTs, closedFloor, trailFrom] = [r.f64(), r.f64(), r.f64(), r.f64(), r.f64()] as const;
  const flat = r.f64s();
  const revisions = new Map<number, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) revisions.set(flat[i] as number, flat[i + 1] as number);
  const dirty = new Set(r.f64s());
  const filling = new Set(r.f64s());
  const sensors = Array.from({ length: r.count(32) }, (): SensorHeader => {
    const id = r.text();
    const [sensorMaxTs, firstPaneStart, blockHz] = [r.f64(), r.f64(), r.f64()] as const;
    return { id, maxTs: sensorMaxTs, firstPaneStart, rate: { blockHz, paneCounts: r.f64s() } };
  });
  r.end();
  return { windowMs, paneMs, maxTs, closedFloor, trailFrom, revisions, dirty, filling, sensors };
}
