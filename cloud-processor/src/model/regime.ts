// The running-state gate: a machine that is stopped, starting, stopping or changing speed or load is
// not scored — its windows are still stored, and an open alert stays open — because a model of normal
// running would call every such window anomalous (on the simulated fan, 1,227 of its 1,341 false
// anomalous windows were stopped ones and 101 were speed steps). The gate watches a few "state" sensors
// (speed, current: those whose level drops to near zero when the machine stops), learned from training
// data or declared. A window is
//   stopped    when a state sensor's mean is below its running level (a fifth of its training median);
//   transient  when a state sensor's mean moved more than its usual window-to-window step since the
//              machine's previous window (twenty times the median step of steady running);
//   settling   for `settleWindows` windows after either, while the rest of the machine catches up.
// A gate learnt from a training that never showed a stop does not know which sensor drops at one: it
// watches every sensor steady at a positive level while running and asks a majority of them (`quorum`)
// to be below their running level at once. A stop takes most of a machine's sensors down together; a
// fault of one sensor (its flow lost) moves it alone and is scored. Such a gate judges no steps (its
// sensors have no maxStep): several sensors stepping at once may be a fault as well as a speed change,
// and training did not show which sensor carries the machine's state. The start after a stop settles.
import type { MachineWindow } from '@pdm/proto';
import { MODEL_DEFAULTS } from './defaults.js';

export interface GateSensor {
  sensor: string;
  /** A window mean below this is a stopped machine. */
  runningAbove: number;
  /** A change of the window mean larger than this from the previous window is a transient; absent: its steps are not judged. */
  maxStep?: number;
}

export interface RegimeGate {
  sensors: GateSensor[];
  /** How many of the sensors must be below their running level at once for a stop; absent: one. */
  quorum?: number;
  /** Windows held after a stopped or transient one. */
  settleWindows: number;
}

/** The window means of the gate's state sensors, in gate order (NaN for one the window lacks: never a stop or a step). */
export function stateSensorMeans(gate: RegimeGate, window: MachineWindow): number[] {
  return gate.sensors.map((g) => window.sensors.find((s) => s.sensorId === g.sensor)?.mean ?? Number.NaN);
}

export type HoldReason = 'stopped' | 'transient' | 'settling';

/** One machine's gate state: plain numbers, so it can be persisted as it is. */
export interface GateState {
  /** The state sensors' means in the machine's newest window (null before its first). */
  previous: number[] | null;
  /** windowEnd (epoch ms) of that window; -Infinity before the first. */
  previousEnd: number;
  /** Windows still to hold after a stop or a transient. */
  settleLeft: number;
  /** The decisions of the newest windows, so a window seen again is decided the same way. */
  recent: { windowEnd: number; hold: HoldReason | null }[];
}

export function initialGateState(): GateState {
  return { previous: null, previousEnd: -Infinity, settleLeft: 0, recent: [] };
}

/**
 * Whether the window (its state sensors' means, in gate order) is held, and why; learns it as the
 * machine's newest window when it is newer than every window seen. A window seen again (a redelivery,
 * a late revision) gets its first decision; an older one never seen is judged on its level alone.
 * `windowMs` tells whether the previous window is the one just before (a gap after a restart or an
 * outage is no step).
 */
export function gateWindow(gate: RegimeGate, state: GateState, means: readonly number[], windowEnd: number, windowMs: number): HoldReason | null {
  let below = 0;
  gate.sensors.forEach((s, i) => {
    if (means[i]! < s.runningAbove) below++;
  });
  const stopped = below >= (gate.quorum ?? 1);
  if (windowEnd <= state.previousEnd) {
    const known = state.recent.find((r) => r.windowEnd === windowEnd);
    return known !== undefined ? known.hold : stopped ? 'stopped' : null;
  }
  const adjacent = state.previous !== null && windowEnd - windowMs === state.previousEnd;
  const stepped = adjacent && gate.sensors.some((s, i) => s.maxStep !== undefined && Math.abs(means[i]! - state.previous![i]!) > s.maxStep);
  let hold: HoldReason | null = null;
  if (stopped) hold = 'stopped';
  else if (stepped) hold = 'transient';
  else if (state.settleLeft > 0) hold = 'settling';
  if (stopped || stepped) state.settleLeft = gate.settleWindows;
  else if (state.settleLeft > 0) state.settleLeft--;
  state.previous = [...means];
  state.previousEnd = windowEnd;
  state.recent.push({ windowEnd, hold });
  if (state.recent.length > MODEL_DEFAULTS.scorer.recentDecisions) state.recent.shift();
  return hold;
}
