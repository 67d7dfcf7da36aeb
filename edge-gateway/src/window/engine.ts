import { CloseReason } from '@pdm/proto';
import type { MachineWindow } from '@pdm/proto';
import { assembleMachineWindow } from './assemble.js';
import type { WindowIdentity } from './assemble.js';
import { WindowGeometry } from './geometry.js';
import { APPROX_MACHINE_BYTES, APPROX_PANE_BYTES, APPROX_SENSOR_BYTES } from './metrics.js';
import type { WindowEngineMetrics } from './metrics.js';
import { windowEngineOptionsSchema } from './options.js';
import type { EngineClock, WindowEngineOptions, WindowEngineOptionsInput } from './options.js';
import { RateEstimator } from './rate-estimator.js';
import { MachineState, Pane, SensorState } from './state.js';

/** What became of one reading; the host counts these. */
export type AddResult = 'accepted' | 'late' | 'too_late' | 'invalid';

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
 * Windows are epoch-aligned. Each machine has a watermark (its latest event time minus the allowed
 * lateness); a window closes when the watermark reaches its end, or — on the gateway clock, checked by
 * `tick()` — when the machine has been silent for the idle timeout. Readings for closed windows are
 * late: counted, and in lateMode 'revise' folded in and re-emitted as revision + 1.
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
  private readonly revise: boolean;
  /** How far behind the closed floor closed panes are kept: for hopping merges and for revisions. */
  private readonly retentionMs: number;
  private readonly machines = new Map<string, MachineState>();
  // Kept as they change, so metrics() — every scrape — does not walk every sensor of every machine.
  private sensorCount = 0;
  private retainedPaneCount = 0;
  private readonly counters = {
    readingsAccepted: 0,
    lateReadings: 0,
    tooLateReadings: 0,
    invalidReadings: 0,
    evictedSensors: 0,
    windowsEmitted: 0,
    revisionsEmitted: 0,
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
    this.revise = lateMode === 'revise';
    this.retentionMs = Math.max(windowMs - this.paneMs, this.revise ? reviseHorizonMs : 0);
  }

  /** Adds one reading at event time `ts` (epoch ms). */
  add(machineId: string, sensorId: string, ts: number, value: number): AddResult {
    // `v - v !== 0` is true exactly for NaN and ±Infinity: the cheapest finiteness guard.
    if (value - value !== 0 || !(ts >= -MAX_EVENT_TIME && ts <= MAX_EVENT_TIME)) {
      this.counters.invalidReadings++;
      return 'invalid';
    }
    const sensor = this.sensorFor(machineId, sensorId);
    const machine = sensor.machine;
    const start = Math.floor(ts / this.paneMs) * this.paneMs;
    if (start < machine.closedFloor) return this.acceptLate(sensor, start, value);
    (start === sensor.curStart ? sensor.cur : this.openPane(sensor, start)).add(value);
    this.counters.readingsAccepted++;
    if (ts > machine.maxTs) this.advanceEventTime(machine, ts);
    return 'accepted';
  }

  /**
   * Adds a block sampled at `hz`: sample i has event time `startTs + (i * 1000) / hz` — exactly the
   * time `add` would be given for it, so a block and its samples added one by one give the same windows.
   */
  addBlock(machineId: string, sensorId: string, startTs: number, hz: number, values: ArrayLike<number>): BlockResult {
    const result: BlockResult = { accepted: 0, late: 0, tooLate: 0, invalid: 0 };
    const n = values.length;
    if (n === 0) return result;
    const lastTs = startTs + ((n - 1) * 1000) / hz;
    if (!(hz > 0 && hz < Infinity && startTs >= -MAX_EVENT_TIME && lastTs <= MAX_EVENT_TIME)) {
      result.invalid = n;
      this.counters.invalidReadings += n;
      return result;
    }
    const sensor = this.sensorFor(machineId, sensorId);
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
      } else if (this.acceptLate(sensor, paneStart, v) === 'late') {
        result.late++;
      } else {
        result.tooLate++;
      }
    }
    this.counters.readingsAccepted += result.accepted;
    this.counters.invalidReadings += result.invalid;
    if (lastTs > machine.maxTs) this.advanceEventTime(machine, lastTs);
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
      this.emitRevisions(machine);
      if (now - machine.lastArrival >= this.options.idleTimeoutMs) {
        this.closeAllPending(machine, CloseReason.IDLE_TIMEOUT);
      }
      this.evictStaleSensors(machine, now);
    }
  }

  /** Shutdown: emits pending revisions and closes every open window as partial (SHUTDOWN). */
  flush(): void {
    for (const machine of this.machines.values()) {
      this.emitRevisions(machine);
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


  private sensorFor(machineId: string, sensorId: string): SensorState {
    const now = this.clock.now();
    let machine = this.machines.get(machineId);
    if (machine === undefined) {
      machine = new MachineState(machineId, now);
      this.machines.set(machineId, machine);
    }
    machine.lastArrival = now;
    let sensor = machine.sensors.get(sensorId);
    if (sensor === undefined) {
      sensor = new SensorState(machine, sensorId, new RateEstimator(this.declaredRate(machineId, sensorId)), now);
      machine.addSensor(sensor);
      this.sensorCount++;
    }
    sensor.lastArrival = now;
    return sensor;
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
    if (this.revise) this.foldLateReading(sensor, paneStart, value);
    return 'late';
  }

  private foldLateReading(sensor: SensorState, paneStart: number, value: number): void {
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
    pane.late++;
    for (const end of this.geometry.endsOfWindowsContaining(paneStart)) {
      if (end <= machine.closedFloor) machine.dirty.add(end - this.geometry.windowMs);
    }
  }

  private advanceEventTime(machine: MachineState, ts: number): void {
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
    machine.closedFloor = newFloor;
    for (const sensor of machine.sensors.values()) {
      if (sensor.curStart < newFloor) sensor.forgetCurrentPane();
    }
    for (const end of ends) {
      const windowStart = end - this.geometry.windowMs;
      const window = assembleMachineWindow(machine, windowStart, this.geometry, this.identity, reason, 0);
      if (window === null) continue;
      if (this.revise) machine.revisions.set(windowStart, 0);
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

  private emitRevisions(machine: MachineState): void {
    if (machine.dirty.size === 0) return;
    const starts = [...machine.dirty].sort((a, b) => a - b);
    machine.dirty.clear();
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
    if (this.options.stampClosedAt) window.closedAt = BigInt(this.clock.now());
    this.counters.windowsEmitted++;
    this.emit(window);
  }

  /** Drops closed panes no hopping window or revision can need any more. */
  private prune(machine: MachineState): void {
    const keepFrom = machine.closedFloor - this.retentionMs;
    const starts = machine.paneStarts;
    let drop = 0;
    while (drop < starts.length && (starts[drop] ?? Infinity) < keepFrom) drop++;
    if (drop > 0) {
      for (const start of starts.splice(0, drop)) {
        for (const sensor of machine.sensors.values()) if (sensor.panes.delete(start)) this.retainedPaneCount--;
      }
    }
    const reviseFrom = machine.closedFloor - this.options.reviseHorizonMs;
    for (const windowStart of machine.revisions.keys()) {
      if (windowStart + this.geometry.windowMs <= reviseFrom) machine.revisions.delete(windowStart);
    }
  }

  private evictStaleSensors(machine: MachineState, now: number): void {
    for (const sensor of machine.sensors.values()) {
      if (now - sensor.lastArrival < this.options.evictAfterMs || this.hasPendingWindow(sensor)) continue;
      machine.removeSensor(sensor);
      this.sensorCount--;
      this.retainedPaneCount -= sensor.panes.size;
      this.counters.evictedSensors++;
    }
    // Forgetting the machine forgets its closed floor too: readings for its old windows would open
    // fresh ones. Accepted for bounded memory; a machine silent this long has no open windows left.
    if (machine.sensors.size === 0) this.machines.delete(machine.id);
  }

  /** Whether the sensor has data in a window not emitted yet. */
  private hasPendingWindow(sensor: SensorState): boolean {
    for (const start of sensor.panes.keys()) {
      if (start + this.geometry.windowMs > sensor.machine.closedFloor) return true;
    }
    return false;
  }
}
