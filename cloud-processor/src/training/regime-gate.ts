// Learns the running-state gate (model/regime.ts) from training windows, and keeps the windows it lets
// through: a model of normal running is trained on running windows only, and scored on the same ones.
// The state sensor is the one declared (pdm train --state-sensor: a machine that never stopped while
// recording still gets its gate from a sensor its operator knows), else learned: among the sensors the
// training data shows the machine stopped on (at least MIN_STOPPED_SHARE of the windows below a fifth
// of its running level) and that hold a steady level while running (a zero-centred signal such as a raw
// vibration mean does not), the steadiest — speed on the simulated machines, where flow and vibration
// also drop at a stop but wander while running. A training that never shows a stop, with no sensor
// declared, gets a gate on every sensor steady at a positive level, a majority of them below their
// running level making a stop, and no steps judged (model/regime.ts): a machine trained on a week of
// running must not alert at its first weekend stop.
import type { MachineWindow } from '@pdm/proto';
import { gateWindow, initialGateState, stateSensorMeans, type GateSensor, type HoldReason, type RegimeGate } from '../model/regime.js';
import { median, quantile } from '../model/robust-stats.js';
import { TrainingDataError } from './derive-contract.js';

/** A level below this share of the sensor's running level (runningLevel) is a stopped machine. */
const STOPPED_BELOW = 0.2;
/** The quantile of a sensor's window levels taken for running, whatever share of the time the machine stopped. */
const RUNNING_QUANTILE = 0.95;
/** A sensor shows stops when at least this share of the training windows is below that level… */
const MIN_STOPPED_SHARE = 0.01;
/** …and at least this many. */
const MIN_STOPPED_WINDOWS = 3;
/** A transient: a window-to-window change of the mean this many times the median change of steady running. */
const STEP_FACTOR = 20;
/** The smallest transient step relative to the running level: a sensor quantised to a constant has no median change. */
const MIN_RELATIVE_STEP = 0.005;
/** A state sensor's running windows stay within this spread of its level (median absolute deviation / median). */
const MAX_RUNNING_SPREAD = 0.25;
/** Windows held after a stop or a transient (30 s of 10 s windows: a load follows its set-point in about as long). */
export const SETTLE_WINDOWS = 3;

function meanOf(window: MachineWindow, sensor: string): number | undefined {
  return window.sensors.find((s) => s.sensorId === sensor)?.mean;
}

/**
 * The gate for a model of `sensors`; when no sensor shows stops and none is declared, the majority gate
 * of the sensors steady at a positive level, or null when fewer than two are. `windows`
 * are in the order the engine closed them; steps are measured between a machine's windows that follow
 * each other directly (the next starts where the previous ended), so hopping windows measure the same
 * step as the tumbling windows scored live.
 */
export function learnRegimeGate(windows: readonly MachineWindow[], sensors: readonly string[], declared?: string): RegimeGate | null {
  if (declared !== undefined && !sensors.includes(declared)) {
    throw new TrainingDataError(`state sensor ${declared} is not one of the model's sensors (${sensors.join(', ')})`);
  }
  let best: { gate: GateSensor; spread: number } | undefined;
  const steady: GateSensor[] = [];
  for (const sensor of declared !== undefined ? [declared] : sensors) {
    const levels = windows.map((w) => meanOf(w, sensor)).filter((m): m is number => m !== undefined && Number.isFinite(m));
    const level = runningLevel(levels);
    if (!(level > 0)) {
      if (sensor === declared) throw new TrainingDataError(`state sensor ${declared} has no positive running level (running level ${level}): a stop cannot be told from running`);
      continue;
    }
    const runningAbove = STOPPED_BELOW * level;
    const running = levels.filter((m) => m >= runningAbove);
    const spread = median(running.map((m) => Math.abs(m - level))) / level;
    const stopped = levels.length - running.length;
    // A stopped machine's sensor reads near 0, not far below it: a zero-centred signal (a raw vibration
    // mean) swings as far below 0 as above, and is no state sensor however its upper half looks.
    const nearZeroWhenLow = levels.every((m) => m > -runningAbove);
    const steadyWhileRunning = spread < MAX_RUNNING_SPREAD && nearZeroWhenLow;
    const showsStops = stopped >= Math.max(MIN_STOPPED_WINDOWS, MIN_STOPPED_SHARE * levels.length) && steadyWhileRunning;
    if (stopped === 0 && steadyWhileRunning) steady.push({ sensor, runningAbove });
    if (!showsStops && sensor !== declared) continue;
    if (best !== undefined && best.spread <= spread) continue;
    const maxStep = Math.max(STEP_FACTOR * median(runningSteps(windows, sensor, runningAbove)), MIN_RELATIVE_STEP * level);
    best = { gate: { sensor, runningAbove, maxStep }, spread };
  }
  if (best !== undefined) return { sensors: [best.gate], settleWindows: SETTLE_WINDOWS };
  return steady.length >= 2 ? { sensors: steady, settleWindows: SETTLE_WINDOWS, quorum: Math.floor(steady.length / 2) + 1 } : null;
}

/**
 * The sensor's level while the machine runs: the median of its windows, when the machine ran most of
 * the time. When the median window is itself a stopped one (below a fifth of the high, 95th-percentile,
 * level: a duty cycle stopped most of the time), the median of the windows not below that: the median
 * of all would be the stopped level, and every stopped window would pass for running. (Not always the
 * latter: a recording whose pump ramps up through much of it, SKAB's file 13, has a median between its
 * ramp and its running level, and no stop to learn.)
 */
function runningLevel(levels: readonly number[]): number {
  const all = median(levels);
  const stoppedBelow = STOPPED_BELOW * quantile(levels, RUNNING_QUANTILE);
  return all >= stoppedBelow ? all : median(levels.filter((m) => m >= stoppedBelow));
}

/** |Δ mean| between windows of a machine that follow each other directly, both running. */
function runningSteps(windows: readonly MachineWindow[], sensor: string, runningAbove: number): number[] {
  const byEnd = new Map<string, number>();
  for (const w of windows) {
    const m = meanOf(w, sensor);
    if (m !== undefined && m >= runningAbove) byEnd.set(`${w.machineId}@${w.windowEnd}`, m);
  }
  const steps: number[] = [];
  for (const w of windows) {
    const m = meanOf(w, sensor);
    const before = byEnd.get(`${w.machineId}@${w.windowStart}`);
    if (m !== undefined && m >= runningAbove && before !== undefined) steps.push(Math.abs(m - before));
  }
  return steps;
}

/** The windows the gate lets through, each machine judged in order; and how many it held, by reason. */
export function runningWindows(gate: RegimeGate, windows: readonly MachineWindow[]): { kept: MachineWindow[]; held: Record<HoldReason, number> } {
  const states = new Map<string, ReturnType<typeof initialGateState>>();
  const held: Record<HoldReason, number> = { stopped: 0, transient: 0, settling: 0 };
  const kept: MachineWindow[] = [];
  // Hopping windows overlap: each phase of the hop (start mod window size) is its own series of
  // windows that follow each other directly, judged as the tumbling windows scored live would be.
  for (const w of [...windows].sort((a, b) => Number(a.windowEnd - b.windowEnd))) {
    const phase = w.windowStart % (w.windowEnd - w.windowStart);
    const key = `${w.machineId}@${phase}`;
    let state = states.get(key);
    if (state === undefined) states.set(key, (state = initialGateState()));
    const means = stateSensorMeans(gate, w);
    const hold = gateWindow(gate, state, means, Number(w.windowEnd), Number(w.windowEnd - w.windowStart));
    if (hold === null) kept.push(w);
    else held[hold]++;
  }
  return { kept, held };
}
