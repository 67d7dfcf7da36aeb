// A machine's window state as text, for the gateway's checkpoints: its closed frontier, the revision
// counters of windows that can still be re-emitted, and every sensor's panes (open ones, and closed
// ones kept for hopping merges, revisions and trailing sensors) with what its rate estimator learned.
// Restored, the engine carries on as if it had never stopped: late data re-emits a window as
// revision + 1, never as a revision already sent with other content.
import type { RateSnapshot } from './rate-estimator.js';
import type { MachineState } from './state.js';

/** Bump when the shape changes; a checkpoint of another version is not restored. */
export const CHECKPOINT_VERSION = 1;

/** [start, n, shift, shiftedMean, m2, m3, m4, min, max, late] */
export type PaneCheckpoint = [number, number, number, number, number, number, number, number, number, number];

export interface SensorCheckpoint {
  id: string;
  maxTs: number;
  firstPaneStart: number;
  rate: RateSnapshot;
  panes: PaneCheckpoint[];
}

export interface MachineCheckpoint {
  version: number;
  /** The geometry the panes were cut with: panes of another geometry are not restored. */
  windowMs: number;
  paneMs: number;
  id: string;
  maxTs: number;
  closedFloor: number;
  trailFrom: number;
  /** [window start, last revision emitted] */
  revisions: Array<[number, number]>;
  dirty: number[];
  filling: number[];
  sensors: SensorCheckpoint[];
}

// JSON has no ±Infinity or NaN (an empty machine's floor is −∞, an overflowing moment +∞): they
// travel as {"nonFinite": "<number>"}. Ids are strings, never objects, so nothing else looks alike.
const replacer = (_key: string, value: unknown) =>
  typeof value === 'number' && !Number.isFinite(value) ? { nonFinite: String(value) } : value;
const reviver = (_key: string, value: unknown) =>
  typeof value === 'object' && value !== null && 'nonFinite' in value ? Number((value as { nonFinite: string }).nonFinite) : value;

export function machineCheckpoint(machine: MachineState, windowMs: number, paneMs: number): MachineCheckpoint {
  return {
    version: CHECKPOINT_VERSION,
    windowMs,
    paneMs,
    id: machine.id,
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
      panes: [...sensor.panes].map(([start, p]): PaneCheckpoint => [start, p.n, p.shift, p.shiftedMean, p.m2, p.m3, p.m4, p.min, p.max, p.late]),
    })),
  };
}

export function encodeMachineCheckpoint(checkpoint: MachineCheckpoint): string {
  return JSON.stringify(checkpoint, replacer);
}

export function decodeMachineCheckpoint(text: string): MachineCheckpoint {
  const checkpoint = JSON.parse(text, reviver) as MachineCheckpoint;
  if (checkpoint.version !== CHECKPOINT_VERSION) throw new Error(`checkpoint version ${checkpoint.version}, expected ${CHECKPOINT_VERSION}`);
  return checkpoint;
}
