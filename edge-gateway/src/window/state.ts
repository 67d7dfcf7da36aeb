import { Moments } from './moments.js';
import type { SensorHandle } from './engine.js';
import type { RateEstimator } from './rate-estimator.js';

/** One sensor's accumulator for one pane (the tumbling unit: the window, or the hop when hopping). */
export class Pane extends Moments {
  /** Late readings folded into this pane after it closed (lateMode 'revise' only). */
  late = 0;
  /** The count when the pane was last checkpointed: a pane changes only by taking readings. */
  savedN = 0;
}

/**
 * A host's handle of a sensor: the sensor while the engine holds it. Forgotten, the sensor is let go
 * of, so a handle a host still keeps (a topic cache) holds no state of the engine's.
 */
export class SensorRef implements SensorHandle {
  constructor(public sensor: SensorState | undefined) {}

  get held(): boolean {
    return this.sensor !== undefined;
  }
}

/** Stands in for "no current pane" so the hot path compares a number instead of checking for null. */
const NO_PANE = new Pane();

export class SensorState {
  /** Panes with data, open or closed-but-retained (for hopping merges and revisions), by start. */
  readonly panes = new Map<number, Pane>();
  /** Hot-path cache: the open pane the last reading went to. */
  curStart = NaN;
  cur: Pane = NO_PANE;
  /** The sensor's first pane usually starts mid-way: it never teaches the learned rate. */
  firstPaneStart = NaN;
  /** The sensor's latest event time: its own watermark trails it by the allowed lateness. */
  maxTs = -Infinity;
  lastArrival: number;
  /** What a host keeps to add this sensor's readings without looking it up (WindowEngine.sensorHandle). */
  readonly handle: SensorRef = new SensorRef(this);

  constructor(
    readonly machine: MachineState,
    readonly id: string,
    readonly rate: RateEstimator,
    now: number,
  ) {
    this.lastArrival = now;
  }

  forgetCurrentPane(): void {
    this.curStart = NaN;
    this.cur = NO_PANE;
  }
}

export class MachineState {
  readonly sensors = new Map<string, SensorState>();
  /** Whether the state changed since its last checkpoint was taken. */
  changed = true;
  /**
   * Whether the stored pane rows of this machine may not match its state (a machine started afresh,
   * or restored without its panes): its next checkpoint replaces them all.
   */
  rewrite = true;
  /** Set when panes were dropped since the last checkpoint: every pane kept starts at or after it. */
  droppedPanesBefore: number | undefined;
  /** Sensors sorted by id, rebuilt only when the set changes: emitted windows list sensors in this order. */
  private sorted: SensorState[] | null = null;
  /** The latest event time of any sensor: the leading sensor's watermark closes windows. */
  maxTs = -Infinity;
  lastArrival: number;
  /** Panes starting before this are closed; readings for them are late. A multiple of the pane size. */
  closedFloor = -Infinity;
  /** The watermark reaching this closes at least one window (Infinity: nothing pending). */
  nextCloseAt = Infinity;
  /** Starts of retained panes of any sensor, ascending. Usually one or two entries. */
  readonly paneStarts: number[] = [];
  /** lateMode 'revise': last revision emitted per window start, while the window can still be revised. */
  readonly revisions = new Map<number, number>();
  /** lateMode 'revise': starts of emitted windows that absorbed late readings since their last emission. */
  readonly dirty = new Set<number>();
  /** Starts of emitted windows a trailing sensor added readings to; re-emitted once it passed them. */
  readonly filling = new Set<number>();
  /**
   * The first closed pane a trailing sensor may still fill: where its watermark was when the leading
   * sensor's watermark closed the windows after it. Idle timeouts and shutdowns leave no one trailing.
   */
  trailFrom = -Infinity;

  constructor(
    readonly id: string,
    now: number,
  ) {
    this.lastArrival = now;
  }

  sortedSensors(): SensorState[] {
    this.sorted ??= [...this.sensors.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  addSensor(sensor: SensorState): void {
    this.sensors.set(sensor.id, sensor);
    this.sorted = null;
  }

  removeSensor(sensor: SensorState): void {
    this.sensors.delete(sensor.id);
    this.sorted = null;
  }

  notePaneStart(start: number): void {
    const starts = this.paneStarts;
    let i = starts.length;
    while (i > 0 && (starts[i - 1] ?? -Infinity) > start) i--;
    if (starts[i - 1] !== start) starts.splice(i, 0, start);
  }

  /** Whether any pane at or after the closed floor holds data. */
  hasOpenPanes(): boolean {
    const last = this.paneStarts[this.paneStarts.length - 1];
    return last !== undefined && last >= this.closedFloor;
  }
}
