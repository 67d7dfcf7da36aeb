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

export interface SensorHeader {
  id: string;
  maxTs: number;
  firstPaneStart: number;
  rate: RateSnapshot;
}

export interface MachineHeader {
  /** The geometry the panes were cut with: panes of another geometry are not restored. */
  windowMs: number;
  paneMs: number;
  maxTs: number;
  closedFloor: number;
  trailFrom: number;
  /** [window start, last revision emitted] */
  revisions: Array<[number, number]>;
  dirty: number[];
  filling: number[];
  sensors: SensorHeader[];
}

const PANE_FIELDS = 9;

export function machineHeader(machine: MachineState, windowMs: number, paneMs: number): MachineHeader {
  return {
    windowMs,
    paneMs,
    maxTs: machine.maxTs,
    closedFloor: machine.closedFloor,
    trailFrom: machine.trailFrom,
    revisions: [...machine.revisions],
    dirty: [...machine.dirty],
    filling: [...machine.filling],
    sensors: [...machine.sensors.values()].map((sensor) => ({
      id: sensor.id,
      maxTs: sensor.maxTs,
      firstPaneStart: sensor.firstPaneStart,
      rate: sensor.rate.snapshot(),
    })),
  };
}

/** The pane row of `sensors`' panes at one start (sensors without a pane there are left out). */
export function encodePaneRow(entries: ReadonlyArray<readonly [sensorId: string, pane: Pane]>): Uint8Array {
  const w = new Writer();
  w.u32(entries.length);
  for (const [sensorId, p] of entries) {
    w.text(sensorId);
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
 * (they run one at a time), copied out when done: a checkpoint encodes thousands of rows a second,
 * and a buffer of their own each, grown as they fill, was most of its cost.
 */
let scratch = Buffer.alloc(64 * 1024);

class Writer {
  private length = 0;

  private room(n: number): void {
    if (this.length + n <= scratch.byteLength) return;
    const bigger = Buffer.alloc(Math.max(scratch.byteLength * 2, this.length + n));
    scratch.copy(bigger, 0, 0, this.length);
    scratch = bigger;
  }

  u32(v: number): void {
    this.room(4);
    this.length = scratch.writeUInt32LE(v, this.length);
  }

  f64(v: number): void {
    this.room(8);
    this.length = scratch.writeDoubleLE(v, this.length);
  }

  f64s(vs: readonly number[]): void {
    this.u32(vs.length);
    for (const v of vs) this.f64(v);
  }

  text(s: string): void {
    this.room(4 + s.length * 3); // at most 3 UTF-8 bytes per UTF-16 unit
    const n = scratch.write(s, this.length + 4, 'utf8');
    this.u32(n);
    this.length += n;
  }

  done(): Uint8Array {
    return Uint8Array.prototype.slice.call(scratch, 0, this.length);
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
  // The revision pairs, flattened (Array.prototype.flat was most of a header's cost).
  w.u32(header.revisions.length * 2);
  for (const [windowStart, revision] of header.revisions) {
    w.f64(windowStart);
    w.f64(revision);
  }
  w.f64s(header.dirty);
  w.f64s(header.filling);
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
  const revisions: Array<[number, number]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) revisions.push([flat[i] as number, flat[i + 1] as number]);
  const dirty = r.f64s();
  const filling = r.f64s();
  const sensors = Array.from({ length: r.count(32) }, (): SensorHeader => {
    const id = r.text();
    const [sensorMaxTs, firstPaneStart, blockHz] = [r.f64(), r.f64(), r.f64()] as const;
    return { id, maxTs: sensorMaxTs, firstPaneStart, rate: { blockHz, paneCounts: r.f64s() } };
  });
  r.end();
  return { windowMs, paneMs, maxTs, closedFloor, trailFrom, revisions, dirty, filling, sensors };
}
