import { CloseReason } from '@pdm/proto';
import type { MachineWindow } from '@pdm/proto';
import { assembleMachineWindow } from './assemble.js';
import { decodeMachineHeader, decodePaneRow, encodeMachineHeader, encodePaneRow, liveMachineHeader, machineHeader } from './checkpoint.js';
import type { CheckpointPane, CheckpointRecord, MachineHeader, StoredCheckpoint } from './checkpoint.js';
import type { WindowIdentity } from './assemble.js';
import { WindowGeometry } from './geometry.js';
import { APPROX_MACHINE_BYTES, APPROX_PANE_BYTES, APPROX_SENSOR_BYTES } from './metrics.js';
import type { WindowEngineMetrics } from './metrics.js';
import { windowEngineOptionsSchema } from './options.js';
import type { EngineClock, WindowEngineOptions, WindowEngineOptionsInput } from './options.js';
import { RateEstimator } from './rate-estimator.js';
import { MachineState, Pane, type SensorRef, SensorState } from './state.js';

/** What became of one reading; the host counts these. */
export type AddResult = 'accepted' | 'late' | 'too_late' | 'invalid';

/**
 * A sensor the engine holds, for a host that adds its readings often: `addTo` takes it instead of the
 * ids, saving the lookups of machine and sensor. `held` turns false when the engine forgets the sensor
 * (evicted, its machine forgotten); the host must then add by ids again and take a new handle.
 */
export interface SensorHandle {
  readonly held: boolean;
}

/** What became of the samples of one block. */
export interface BlockResult {
  accepted: number;
  late: number;
  tooLate: number;
  invalid: number;
}

/** ECMAScript dates span ±8.64e15 ms; anything beyond is not a time and must not reach int64 bounds. */
const MAX_EVENT_TIME = 8.64e15;

/**
 * Event-time windows per (machine, sensor), assembled into one MachineWindow per machine per window.
 *
 * Windows are epoch-aligned. Each sensor has a watermark (its latest event time minus the allowed
 * lateness). A machine window closes when its leading sensor's watermark reaches its end, or — on the
 * gateway clock, checked by `tick()` — when the machine has been silent for the idle timeout.
 *
 * Lateness is the sensor's own: a reading is late only when its sensor's watermark has passed its
 * window. So a sensor whose clock runs ahead closes its machine's windows early without making the
 * other sensors' readings late: a sensor trailing the leader by at most `maxSensorLagMs` keeps adding
 * its readings to the closed window, which goes out again as revision + 1 (LATE_REVISION) once that
 * sensor's watermark passed its end (on the next `tick()`, or before the machine's next window). Late
 * readings are counted, and in lateMode 'revise' folded in and re-emitted as revision + 1.
 *
 * The engine is a pure library: it owns no timer and no I/O. The host calls `add`/`addBlock` per
 * reading, `tick()` periodically, and `flush()` on shutdown; closed windows go to `emit` synchronously,
 * stamped with their `closedAt` on the engine's clock.
 * It never throws on its inputs: a non-finite value or an impossible timestamp is counted as 'invalid'.
 */
export class WindowEngine {
  private readonly options: WindowEngineOptions;
  private readonly geometry: WindowGeometry;
  private readonly identity: WindowIdentity;
  private readonly clock: EngineClock;
  private readonly paneMs: number;
  private readonly lateness: number;
  private readonly maxSensorLag: number;
  private readonly revise: boolean;
  /** How far behind the closed floor closed panes are kept: for hopping merges and for revisions. */
  private readonly retentionMs: number;
  /** A sensor unseen this long on the gateway clock is forgotten; a machine with no sensor left, too. */
  readonly evictAfterMs: number;
  private readonly machines = new Map<string, MachineState>();
  /** Scratch of takeCheckpoint: the sensor ids and panes of one pane row. */
  private readonly rowIds: string[] = [];
  private readonly rowPanes: Pane[] = [];
  // Kept as they change, so metrics() — every scrape — does not walk every sensor of every machine.
  private sensorCount = 0;
  private retainedPaneCount = 0;
  /** While suspend() flushes a machine: each window it sends, by start, with its revision. */
  private sentDuringSuspend: Map<number, number> | undefined;
  private readonly counters = {
    readingsAccepted: 0,
    lateReadings: 0,
    tooLateReadings: 0,
    invalidReadings: 0,
    evictedSensors: 0,
    windowsEmitted: 0,
    revisionsEmitted: 0,
    machinesRestored: 0,
    checkpointsRefused: 0,
  };

  constructor(
    options: WindowEngineOptionsInput,
    private readonly emit: (window: MachineWindow) => void,
  ) {
    this.options = windowEngineOptionsSchema.parse(options);
    const { windowMs, hopMs, allowedLatenessMs, lateMode, reviseHorizonMs, gatewayId, siteId, clock } = this.options;
    this.paneMs = hopMs ?? windowMs;
    this.geometry = new WindowGeometry(windowMs, this.paneMs);
    this.identity = { gatewayId, siteId };
    this.clock = clock;
    this.lateness = allowedLatenessMs;
    this.maxSensorLag = this.options.maxSensorLagMs;
    this.revise = lateMode === 'revise';
    // A late pane within the horizon is revised into every window holding it, the oldest of which
    // starts windowMs - paneMs before it: the panes back to there are kept too.
    this.retentionMs = windowMs - this.paneMs + (this.revise ? reviseHorizonMs : 0);
    this.evictAfterMs = this.options.evictAfterMs;
  }

  /**
   * Adds one reading at event time `ts` (epoch ms) that arrived at `now` on the gateway clock: a host
   * that has just read the clock (ingest, to validate the reading) passes its time, so the clock is read
   * once per reading, not twice.
   */
  add(machineId: string, sensorId: string, ts: number, value: number, now = this.clock.now()): AddResult {
    // `v - v !== 0` is true exactly for NaN and ±Infinity: the cheapest finiteness guard.
    if (value - value !== 0 || !(ts >= -MAX_EVENT_TIME && ts <= MAX_EVENT_TIME)) {
      this.counters.invalidReadings++;
      return 'invalid';
    }
    return this.addToSensor(this.sensorFor(machineId, sensorId, now), ts, value);
  }

  /** The sensor `handle` stands for, held (`sensorHandle`), for a reading as `add` takes it. */
  addTo(handle: SensorHandle, ts: number, value: number, now = this.clock.now()): AddResult {
    if (value - value !== 0 || !(ts >= -MAX_EVENT_TIME && ts <= MAX_EVENT_TIME)) {
      this.counters.invalidReadings++;
      return 'invalid';
    }
    const sensor = (handle as SensorRef).sensor;
    if (sensor === undefined) throw new Error('WindowEngine.addTo: a handle of a sensor the engine forgot (take a new one: sensorHandle)');
    sensor.machine.lastArrival = now;
    sensor.machine.changed = true;
    sensor.lastArrival = now;
    return this.addToSensor(sensor, ts, value);
  }

  /** The handle of a sensor the engine holds, undefined when it holds none. */
  sensorHandle(machineId: string, sensorId: string): SensorHandle | undefined {
    return this.machines.get(machineId)?.sensors.get(sensorId)?.handle;
  }

  private addToSensor(sensor: SensorState, ts: number, value: number): AddResult {
    const machine = sensor.machine;
    const start = Math.floor(ts / this.paneMs) * this.paneMs;
    let result: AddResult = 'accepted';
    if (start >= machine.closedFloor) {
      (start === sensor.curStart ? sensor.cur : this.openPane(sensor, start)).add(value);
    } else if (this.trailsInto(sensor, start, ts)) {
      this.fillClosedPane(sensor, start, value, false);
    } else {
      result = this.acceptLate(sensor, start, value);
    }
    if (result === 'accepted') this.counters.readingsAccepted++;
    // Late readings move their sensor's time too: it says how far behind the sensor runs.
    if (ts > sensor.maxTs) this.advanceEventTime(sensor, ts);
    return result;
  }

  /**
   * Adds a block sampled at `hz`: sample i has event time `startTs + (i * 1000) / hz` — exactly the
   * time `add` would be given for it, so a block and its samples added one by one give the same windows.
   * `now` as for `add`.
   */
  addBlock(machineId: string, sensorId: string, startTs: number, hz: number, values: ArrayLike<number>, now = this.clock.now()): BlockResult {
    const result: BlockResult = { accepted: 0, late: 0, tooLate: 0, invalid: 0 };
    const n = values.length;
    if (n === 0) return result;
    const lastTs = startTs + ((n - 1) * 1000) / hz;
    if (!(hz > 0 && hz < Infinity && startTs >= -MAX_EVENT_TIME && lastTs <= MAX_EVENT_TIME)) {
      result.invalid = n;
      this.counters.invalidReadings += n;
      return result;
    }
    const sensor = this.sensorFor(machineId, sensorId, now);
    sensor.rate.observeBlockRate(hz);
    const machine = sensor.machine;
    const paneMs = this.paneMs;
    let paneStart = NaN;
    let paneEnd = NaN;
    let pane: Pane | null = null;
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      if (v - v !== 0) {
        result.invalid++;
        continue;
      }
      const ts = startTs + (i * 1000) / hz;
      if (!(ts >= paneStart && ts < paneEnd)) {
        // Crossed into another pane (or rounding put ts on the other side of a boundary): same
        // computation as `add`, so both paths agree on every sample's pane.
        paneStart = Math.floor(ts / paneMs) * paneMs;
        paneEnd = paneStart + paneMs;
        pane =
          paneStart < machine.closedFloor
            ? null
            : paneStart === sensor.curStart
              ? sensor.cur
              : this.openPane(sensor, paneStart);
      }
      if (pane !== null) {
        pane.add(v);
        result.accepted++;
      } else if (this.trailsInto(sensor, paneStart, ts)) {
        this.fillClosedPane(sensor, paneStart, v, false);
        result.accepted++;
      } else if (this.acceptLate(sensor, paneStart, v) === 'late') {
        result.late++;
      } else {
        result.tooLate++;
      }
    }
    this.counters.readingsAccepted += result.accepted;
    this.counters.invalidReadings += result.invalid;
    // A non-finite sample is no reading and, as in `add`, moves no event time: a block ending in
    // some would otherwise close windows its samples added one by one leave open.
    let last = n - 1;
    if (result.invalid > 0) while (last >= 0 && (values[last] as number) - (values[last] as number) !== 0) last--;
    const lastAddedTs = startTs + (last * 1000) / hz;
    if (last >= 0 && lastAddedTs > sensor.maxTs) this.advanceEventTime(sensor, lastAddedTs);
    return result;
  }

  /**
   * Housekeeping on the gateway clock; the host calls it periodically (every second is plenty).
   * Emits pending revisions, closes the windows of machines silent for the idle timeout, evicts
   * sensors unseen for `evictAfterMs`.
   */
  tick(): void {
    const now = this.clock.now();
    for (const machine of this.machines.values()) {
      const idle = now - machine.lastArrival >= this.options.idleTimeoutMs;
      // A silent machine's trailing sensors will not catch up any further: their windows go out now.
      this.emitRevisions(machine, idle);
      if (idle) this.closeAllPending(machine, CloseReason.IDLE_TIMEOUT);
      this.evictStaleSensors(machine, now);
    }
  }

  /**
   * The host takes readings from now on: the idle clocks of the machines it holds (restored at
   * start) start now. Counted from their restore, the time the host's own start-up takes before a
   * reading can come (Pub/Sub, the listeners) would count as every restored machine's silence, and a
   * slow start would close all their open windows partial (IDLE_TIMEOUT), to be revised once the
   * machines report again.
   */
  startIdleClocks(): void {
    const now = this.clock.now();
    for (const machine of this.machines.values()) machine.lastArrival = now;
  }

  /**
   * A machine that said it went away (a Sparkplug death): its windows close now as they would at the
   * idle timeout (IDLE_TIMEOUT), instead of waiting for it. A machine the engine does not hold is left alone.
   */
  closeMachine(machineId: string): void {
    const machine = this.machines.get(machineId);
    if (machine === undefined) return;
    this.emitRevisions(machine, true);
    this.closeAllPending(machine, CloseReason.IDLE_TIMEOUT);
  }

  /** Shutdown: emits pending revisions and closes every open window as partial (SHUTDOWN). */
  flush(): void {
    for (const machine of this.machines.values()) {
      this.emitRevisions(machine, true);
      this.closeAllPending(machine, CloseReason.SHUTDOWN);
    }
  }

  /**
   * End of a finite input (a replay): no reading can follow, so waiting out the lateness is moot.
   * Windows that end at or before a machine's latest event time are complete and close by WATERMARK;
   * the trailing window the data stops inside is partial and closes as SHUTDOWN, so training can
   * tell it apart.
   */
  endOfStream(): void {
    for (const machine of this.machines.values()) {
      if (machine.maxTs > -Infinity) {
        this.closeThrough(machine, this.geometry.paneStartOf(machine.maxTs), CloseReason.WATERMARK);
      }
    }
    this.flush();
  }

  /** How many machines hold state here; the gateway caps this (validation.maxMachines). */
  machineCount(): number {
    return this.machines.size;
  }

  /** The sensors of `machineId` holding state here, absent when it holds none; the gateway caps their number. */
  sensorsOf(machineId: string): Pick<ReadonlyMap<string, unknown>, 'has' | 'size'> | undefined {
    return this.machines.get(machineId)?.sensors;
  }

  /** Machines whose state changed since their last `checkpoint`: the host's periodic checkpoint saves these. */
  changedMachines(): string[] {
    const ids: string[] = [];
    for (const machine of this.machines.values()) if (machine.changed) ids.push(machine.id);
    return ids;
  }

  /**
   * The checkpoint last taken of a machine was not written (the write failed, a full disk say): the
   * machine counts as changed again, so its next checkpoint is complete and it is not forgotten before
   * one is written — forgotten, its next reading would recall the older stored checkpoint and send
   * the keys of windows already sent again, with other content.
   */
  checkpointNotWritten(machineId: string): void {
    const machine = this.machines.get(machineId);
    if (machine === undefined) return;
    machine.changed = true;
    machine.rewrite = true;
  }

  /**
   * The checkpoint of a machine held here (checkpoint.ts), undefined when it holds none: its header
   * and the panes that changed since its last checkpoint, or every pane when `complete` (the last one
   * taken was never written). Taking it marks the machine saved: the host must write it with every
   * window the engine emitted so far.
   */
  checkpoint(machineId: string, complete = false): CheckpointRecord | undefined {
    const machine = this.machines.get(machineId);
    if (machine === undefined) return undefined;
    if (complete) machine.rewrite = true;
    return this.takeCheckpoint(machine, liveMachineHeader(machine, this.geometry.windowMs, this.paneMs));
  }

  /**
   * A shutdown to resume from: emits what `flush()` emits (pending revisions, every open window as a
   * SHUTDOWN partial) and returns every machine's checkpoint as it was just before, its open windows
   * still open but counted as sent. Restored from these, an engine goes on filling those windows and
   * sends them again, complete, as revision + 1 when they close: a graceful restart loses no reading.
   */
  suspend(): CheckpointRecord[] {
    const checkpoints: CheckpointRecord[] = [];
    for (const machine of this.machines.values()) {
      const before = machineHeader(machine, this.geometry.windowMs, this.paneMs);
      const checkpoint = this.takeCheckpoint(machine, before);
      // Recorded as they go out: the flush's close prunes the counters of windows behind its new
      // frontier, which the restored engine, back at the frontier before, can close again.
      const sent = (this.sentDuringSuspend = new Map<number, number>());
      this.emitRevisions(machine, true);
      this.closeAllPending(machine, CloseReason.SHUTDOWN);
      this.sentDuringSuspend = undefined;
      // What the flush sent is sent: its revision numbers are taken, nothing waits to go out.
      checkpoint.header = encodeMachineHeader({
        ...before,
        revisions: new Map([...before.revisions, ...sent]),
        dirty: new Set(),
        filling: new Set(),
      });
      machine.changed = false;
      checkpoints.push(checkpoint);
    }
    return checkpoints;
  }

  /**
   * Takes a machine's state back from its stored checkpoint (at start, or recalled). False, and
   * counted as refused, when it is no checkpoint of this version; a machine the engine already holds
   * is left alone.
   */
  restore(stored: StoredCheckpoint): boolean {
    let header: MachineHeader;
    let panes: Array<{ paneStart: number; sensors: Array<[string, Pane]> }>;
    try {
      header = decodeMachineHeader(stored.header);
      panes = stored.panes.map(({ paneStart, stats }) => ({ paneStart, sensors: decodePaneRow(stats) }));
    } catch {
      this.counters.checkpointsRefused++;
      return false;
    }
    if (this.machines.has(stored.machineId)) return false;
    this.restoreMachine(stored.machineId, header, panes);
    return true;
  }

  metrics(): WindowEngineMetrics {
    let openWindows = 0;
    for (const machine of this.machines.values()) {
      for (const start of machine.paneStarts) if (start >= machine.closedFloor) openWindows++;
    }
    const sensors = this.sensorCount;
    const retainedPanes = this.retainedPaneCount;
    return {
      machines: this.machines.size,
      sensors,
      openWindows,
      retainedPanes,
      approxStateBytes:
        this.machines.size * APPROX_MACHINE_BYTES + sensors * APPROX_SENSOR_BYTES + retainedPanes * APPROX_PANE_BYTES,
      ...this.counters,
    };
  }


  private sensorFor(machineId: string, sensorId: string, now: number): SensorState {
    let machine = this.machines.get(machineId);
    if (machine === undefined) machine = this.recallMachine(machineId) ?? this.newMachine(machineId, now);
    machine.lastArrival = now;
    machine.changed = true;
    let sensor = machine.sensors.get(sensorId);
    if (sensor === undefined) {
      sensor = new SensorState(machine, sensorId, new RateEstimator(this.declaredRate(machineId, sensorId)), now);
      machine.addSensor(sensor);
      this.sensorCount++;
    }
    sensor.lastArrival = now;
    return sensor;
  }

  private newMachine(machineId: string, now: number): MachineState {
    const machine = new MachineState(machineId, now);
    this.machines.set(machineId, machine);
    return machine;
  }

  private recallMachine(machineId: string): MachineState | undefined {
    const stored = this.options.recall?.(machineId);
    return stored !== undefined && this.restore(stored) ? this.machines.get(machineId) : undefined;
  }

  /**
   * The machine's checkpoint with `header` (encoded before the machine changes); marks it saved (see
   * `checkpoint`).
   */
  private takeCheckpoint(machine: MachineState, header: MachineHeader): CheckpointRecord {
    const panes: CheckpointPane[] = [];
    // The sensors with a pane at a start, and their panes: arrays reused from row to row.
    const rowIds = this.rowIds;
    const rowPanes = this.rowPanes;
    for (const paneStart of machine.paneStarts) {
      let count = 0;
      let changed = machine.rewrite;
      for (const sensor of machine.sortedSensors()) {
        const pane = sensor.panes.get(paneStart);
        if (pane === undefined) continue;
        rowIds[count] = sensor.id;
        rowPanes[count++] = pane;
        if (pane.savedN !== pane.n) changed = true;
      }
      if (!changed || count === 0) continue;
      for (let i = 0; i < count; i++) {
        const pane = rowPanes[i] as Pane;
        pane.savedN = pane.n;
      }
      panes.push({ paneStart, stats: encodePaneRow(rowIds, rowPanes, count) });
    }
    const checkpoint: CheckpointRecord = {
      machineId: machine.id,
      header: encodeMachineHeader(header),
      panes,
      dropAll: machine.rewrite,
      dropBefore: machine.droppedPanesBefore,
    };
    machine.changed = false;
    machine.rewrite = false;
    machine.droppedPanesBefore = undefined;
    return checkpoint;
  }

  /**
   * Rebuilds a machine from its checkpoint. Its closed frontier and revision counters are restored
   * whatever the window geometry: a window of the new geometry can start where one of the old did
   * (10 s and 20 s windows share every 20 s start; 5 s windows every 10 s one), and a revision number
   * used again would be the same key with other content. Panes cut with another geometry are left
   * behind, and with them the revisions and trailing sensors that needed them: old windows stay closed.
   */
  private restoreMachine(machineId: string, header: MachineHeader, panes: ReadonlyArray<{ paneStart: number; sensors: ReadonlyArray<[string, Pane]> }>): void {
    const now = this.clock.now();
    const machine = this.newMachine(machineId, now);
    machine.maxTs = header.maxTs;
    // A pane boundary of the old geometry may fall inside a pane of the new: that pane stays closed.
    machine.closedFloor = Math.ceil(header.closedFloor / this.paneMs) * this.paneMs;
    machine.trailFrom = machine.closedFloor;
    for (const [start, revision] of header.revisions) machine.revisions.set(start, revision);
    this.counters.machinesRestored++;
    if (header.windowMs !== this.geometry.windowMs || header.paneMs !== this.paneMs) return;
    // The stored rows are this state: the next checkpoint writes only what changes from here.
    machine.changed = false;
    machine.rewrite = false;
    machine.trailFrom = header.trailFrom;
    for (const start of header.dirty) machine.dirty.add(start);
    for (const start of header.filling) machine.filling.add(start);
    for (const saved of header.sensors) {
      const sensor = new SensorState(machine, saved.id, new RateEstimator(this.declaredRate(machine.id, saved.id)), now);
      sensor.maxTs = saved.maxTs;
      sensor.firstPaneStart = saved.firstPaneStart;
      sensor.rate.restore(saved.rate);
      machine.addSensor(sensor);
      this.sensorCount++;
    }
    for (const { paneStart, sensors } of panes) {
      for (const [sensorId, pane] of sensors) {
        const sensor = machine.sensors.get(sensorId);
        if (sensor === undefined) continue;
        pane.savedN = pane.n;
        sensor.panes.set(paneStart, pane);
        machine.notePaneStart(paneStart);
        this.retainedPaneCount++;
      }
    }
    machine.nextCloseAt = this.geometry.nextEndAfter(machine.paneStarts, machine.closedFloor);
  }

  private declaredRate(machineId: string, sensorId: string): number {
    const rates = this.options.sensorRates;
    return rates[`${machineId}/${sensorId}`] ?? rates[sensorId] ?? 0;
  }

  private openPane(sensor: SensorState, start: number): Pane {
    let pane = sensor.panes.get(start);
    if (pane === undefined) {
      pane = new Pane();
      sensor.panes.set(start, pane);
      this.retainedPaneCount++;
      if (Number.isNaN(sensor.firstPaneStart)) sensor.firstPaneStart = start;
      const machine = sensor.machine;
      machine.notePaneStart(start);
      const end = start + this.paneMs;
      if (end < machine.nextCloseAt) machine.nextCloseAt = end;
    }
    sensor.curStart = start;
    sensor.cur = pane;
    return pane;
  }

  private acceptLate(sensor: SensorState, paneStart: number, value: number): 'late' | 'too_late' {
    const machine = sensor.machine;
    if (paneStart < machine.closedFloor - this.options.reviseHorizonMs) {
      this.counters.tooLateReadings++;
      return 'too_late';
    }
    this.counters.lateReadings++;
    if (this.revise) this.fillClosedPane(sensor, paneStart, value, true);
    return 'late';
  }

  /**
   * Whether a reading at `ts` for the closed pane at `paneStart` is on time for its sensor: the
   * sensor's own watermark (this reading counted) has not passed the pane, the sensor trails its
   * machine's leader by at most maxSensorLagMs, and the pane was closed by the leader's watermark
   * while the sensor trailed (so its windows are retained).
   */
  private trailsInto(sensor: SensorState, paneStart: number, ts: number): boolean {
    const sensorTime = Math.max(sensor.maxTs, ts);
    const machine = sensor.machine;
    return (
      paneStart >= machine.trailFrom &&
      paneStart + this.paneMs > sensorTime - this.lateness &&
      sensorTime >= machine.maxTs - this.maxSensorLag
    );
  }

  /**
   * Adds a reading to a closed pane and marks the emitted windows holding it for re-emission: on the
   * next tick when the reading is late ('revise'), once the sensor passed them when it is trailing.
   */
  private fillClosedPane(sensor: SensorState, paneStart: number, value: number, late: boolean): void {
    const machine = sensor.machine;
    let pane = sensor.panes.get(paneStart);
    if (pane === undefined) {
      pane = new Pane();
      sensor.panes.set(paneStart, pane);
      this.retainedPaneCount++;
      machine.notePaneStart(paneStart);
      // When hopping, this pane may belong to windows not closed yet.
      machine.nextCloseAt = Math.min(machine.nextCloseAt, this.geometry.nextEndAfter([paneStart], machine.closedFloor));
    }
    pane.add(value);
    if (late) pane.late++;
    const marked = late ? machine.dirty : machine.filling;
    for (const end of this.geometry.endsOfWindowsContaining(paneStart)) {
      if (end <= machine.closedFloor) marked.add(end - this.geometry.windowMs);
    }
  }

  private advanceEventTime(sensor: SensorState, ts: number): void {
    sensor.maxTs = ts;
    const machine = sensor.machine;
    if (ts <= machine.maxTs) return;
    machine.maxTs = ts;
    const watermark = ts - this.lateness;
    if (watermark >= machine.nextCloseAt) {
      this.closeThrough(machine, this.geometry.paneStartOf(watermark), CloseReason.WATERMARK);
    }
  }

  /** Closes every window that holds data and is not closed yet (idle timeout, shutdown). */
  private closeAllPending(machine: MachineState, reason: CloseReason): void {
    const last = machine.paneStarts[machine.paneStarts.length - 1];
    if (last !== undefined && machine.nextCloseAt !== Infinity) {
      this.closeThrough(machine, last + this.geometry.windowMs, reason);
    }
  }

  /** Closes all panes starting before `newFloor` and emits, in order, the windows that end by then. */
  private closeThrough(machine: MachineState, newFloor: number, reason: CloseReason): void {
    if (newFloor <= machine.closedFloor) return;
    // Revisions of older windows go out before newer windows, keeping each machine's stream in order.
    this.emitRevisions(machine);
    const oldFloor = machine.closedFloor;
    const ends = this.geometry.windowEndsBetween(machine.paneStarts, oldFloor, newFloor);
    machine.changed = true;
    machine.closedFloor = newFloor;
    machine.trailFrom = reason === CloseReason.WATERMARK ? Math.max(machine.trailFrom, this.trailingFloor(machine)) : newFloor;
    for (const sensor of machine.sensors.values()) {
      if (sensor.curStart < newFloor) sensor.forgetCurrentPane();
    }
    for (const end of ends) {
      const windowStart = end - this.geometry.windowMs;
      // Revision 0, unless the window went out before a restart as a SHUTDOWN partial (see suspend).
      const revision = (machine.revisions.get(windowStart) ?? -1) + 1;
      const window = assembleMachineWindow(machine, windowStart, this.geometry, this.identity, reason, revision);
      if (window === null) continue;
      machine.revisions.set(windowStart, revision);
      this.publish(window);
    }
    // Learn only after emitting, so a window's expected count never comes from its own count.
    if (reason === CloseReason.WATERMARK) this.learnRates(machine, oldFloor, newFloor);
    this.prune(machine);
    machine.nextCloseAt = this.geometry.nextEndAfter(machine.paneStarts, newFloor);
  }

  /** Panes closed by the watermark are complete: they teach sensors without a declared rate. */
  private learnRates(machine: MachineState, fromFloor: number, toFloor: number): void {
    for (const start of machine.paneStarts) {
      if (start >= toFloor) break;
      if (start < fromFloor) continue;
      for (const sensor of machine.sensors.values()) {
        const pane = sensor.panes.get(start);
        if (pane !== undefined && start !== sensor.firstPaneStart) sensor.rate.observeCompletePane(pane.n);
      }
    }
  }

  /**
   * Re-emits, oldest first, the closed windows that took late readings, and those trailing sensors
   * added to once no sensor is still filling them (`force`: every one, the machine is closing).
   */
  private emitRevisions(machine: MachineState, force = false): void {
    if (machine.dirty.size === 0 && machine.filling.size === 0) return;
    const due = new Set(machine.dirty);
    machine.dirty.clear();
    for (const windowStart of machine.filling) {
      if (force || !this.stillFilling(machine, windowStart + this.geometry.windowMs)) {
        due.add(windowStart);
        machine.filling.delete(windowStart);
      }
    }
    if (due.size === 0) return;
    machine.changed = true;
    const starts = [...due].sort((a, b) => a - b);
    for (const windowStart of starts) {
      const revision = (machine.revisions.get(windowStart) ?? -1) + 1;
      const window = assembleMachineWindow(
        machine, windowStart, this.geometry, this.identity, CloseReason.LATE_REVISION, revision,
      );
      if (window === null) continue;
      machine.revisions.set(windowStart, revision);
      this.counters.revisionsEmitted++;
      this.publish(window);
    }
  }

  private publish(window: MachineWindow): void {
    this.sentDuringSuspend?.set(Number(window.windowStart), window.revision);
    if (this.options.stampClosedAt) window.closedAt = BigInt(this.clock.now());
    this.counters.windowsEmitted++;
    this.emit(window);
  }

  /** Whether a sensor within maxSensorLagMs of its machine's leader has a watermark before `windowEnd`. */
  private stillFilling(machine: MachineState, windowEnd: number): boolean {
    for (const sensor of machine.sensors.values()) {
      if (sensor.maxTs - this.lateness < windowEnd && sensor.maxTs >= machine.maxTs - this.maxSensorLag) return true;
    }
    return false;
  }

  /** The pane the watermark of the sensor furthest behind the leader (within maxSensorLagMs) is in. */
  private trailingFloor(machine: MachineState): number {
    let floor = machine.closedFloor;
    for (const sensor of machine.sensors.values()) {
      if (sensor.maxTs >= machine.maxTs - this.maxSensorLag) {
        floor = Math.min(floor, this.geometry.paneStartOf(sensor.maxTs - this.lateness));
      }
    }
    return floor;
  }

  /** Drops closed panes no hopping window, revision or trailing sensor can need any more. */
  private prune(machine: MachineState): void {
    const hoppingMerge = this.geometry.windowMs - this.paneMs;
    const keepFrom = Math.min(machine.closedFloor - this.retentionMs, machine.trailFrom - hoppingMerge);
    const starts = machine.paneStarts;
    let drop = 0;
    while (drop < starts.length && (starts[drop] ?? Infinity) < keepFrom) drop++;
    if (drop > 0) {
      for (const start of starts.splice(0, drop)) {
        for (const sensor of machine.sensors.values()) if (sensor.panes.delete(start)) this.retainedPaneCount--;
      }
      // keepFrom never falls: panes made later (late or trailing readings) start at or after it.
      machine.droppedPanesBefore = keepFrom;
    }
    // A revision counter lives as long as its window can be re-emitted: a reused number would be
    // the same idempotency key with other content.
    const reviseFrom = Math.min(machine.closedFloor - this.options.reviseHorizonMs, keepFrom);
    for (const windowStart of machine.revisions.keys()) {
      if (windowStart + this.geometry.windowMs <= reviseFrom) machine.revisions.delete(windowStart);
    }
  }

  private evictStaleSensors(machine: MachineState, now: number): void {
    let stale = 0;
    for (const sensor of machine.sensors.values()) if (this.isStale(sensor, now)) stale++;
    if (stale === 0 && machine.sensors.size > 0) return;
    if (stale === machine.sensors.size) {
      // Every sensor is silent, so the windows trailing sensors were filling go out now, as at the
      // idle timeout: that timeout may not have run out yet (a restored machine's idle clock starts
      // at startIdleClocks, its sensors' at the restore), and forgotten, they would wait in its
      // checkpoint until it sends again: for good, if it never does.
      this.emitRevisions(machine, true);
      // The machine goes; its checkpoint stays as it is (its closed frontier, revision counters and
      // the panes a late reading may still revise), for a reading of it to recall. One that can be
      // recalled waits while it changed since that checkpoint, until the next is taken: forgotten
      // now (windows closed this very tick, say), its windows would be written without the frontier
      // they moved, and its next reading would recall an older one and send their keys again.
      if (machine.changed && this.options.recall !== undefined) return;
      for (const sensor of machine.sensors.values()) this.forgetSensor(sensor);
      this.machines.delete(machine.id);
      return;
    }
    for (const sensor of machine.sensors.values()) {
      // Panes it still holds are ones the machine keeps (prune): a revision within reviseHorizonMs may
      // need them, and would otherwise re-emit its windows with only the late reading for this sensor.
      // They go as the machine carries on; the sensor goes with the last of them.
      if (!this.isStale(sensor, now) || sensor.panes.size > 0) continue;
      machine.removeSensor(sensor);
      // Its panes share rows with the other sensors': the next checkpoint writes them all again.
      machine.rewrite = true;
      machine.changed = true;
      this.forgetSensor(sensor);
    }
  }

  private isStale(sensor: SensorState, now: number): boolean {
    return now - sensor.lastArrival >= this.evictAfterMs && !this.hasPendingWindow(sensor);
  }

  private forgetSensor(sensor: SensorState): void {
    sensor.handle.sensor = undefined;
    this.sensorCount--;
    this.retainedPaneCount -= sensor.panes.size;
    this.counters.evictedSensors++;
  }

  /** Whether the sensor has data in a window not emitted yet. */
  private hasPendingWindow(sensor: SensorState): boolean {
    for (const start of sensor.panes.keys()) {
      if (start + this.geometry.windowMs > sensor.machine.closedFloor) return true;
    }
    return false;
  }
}
