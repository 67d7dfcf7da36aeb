// Reads a CSV into MachineWindows through the gateway's replay (the same window engine as live
// traffic), with a progress line on long files and bad rows, and rows too far out of time order,
// refused with their line number.
import { ReplayError, replayCsv, windowEngineOptionsSchema, type ReplayOptionsInput, type ReplaySummary } from '@pdm/edge-gateway';
import type { MachineWindow } from '@pdm/proto';
import { UsageError } from './command.js';
import type { WindowRange } from './csv-flags.js';
import { progressReporter } from './progress.js';
import { samplingOf } from './sampling-interval.js';

/**
 * Refuses a CSV in which no column held numbers: it would give no windows without a word (a column is
 * a sensor when its first value is a number, so `1.234,5` or a comma-delimited "1,5" make none).
 */
export function requireSensors(input: string, summary: Pick<ReplaySummary, 'sensors' | 'ignoredColumns'>): void {
  if (summary.sensors.length > 0) return;
  const ignored = summary.ignoredColumns.length > 0 ? ` (not numbers: ${summary.ignoredColumns.map((c) => `"${c}"`).join(', ')})` : '';
  throw new UsageError(
    `${input}: no column of numbers to read as a sensor${ignored}; decimal commas (1,5) are read when --delimiter is not a comma, thousands separators never`,
  );
}

/** Says what of the CSV went unused: the columns not read as sensors, the rows dropped out of time order. */
export function reportUnused(label: string, summary: Pick<ReplaySummary, 'ignoredColumns' | 'outOfOrderRows' | 'firstOutOfOrderRow'>, err: (line: string) => void): void {
  if (summary.ignoredColumns.length > 0) err(`${label}: ignored columns without numbers: ${summary.ignoredColumns.join(', ')}`);
  const first = summary.firstOutOfOrderRow;
  if (first !== undefined) err(`${label}: dropped ${summary.outOfOrderRows} row(s), the first at line ${first.line}: ${first.reason}`);
}

export async function windowsFromCsv(input: string, options: ReplayOptionsInput, range: WindowRange, err: (line: string) => void, label: string): Promise<MachineWindow[]> {
  const windows: MachineWindow[] = [];
  const report = progressReporter(label, err);
  try {
    // A row whose window had closed would be left out of the model or the scores: refused, naming it.
    const summary = await replayCsv(input, { ...options, onOutOfOrderRow: 'fail' }, {
      onWindow: (w) => {
        if (Number(w.windowStart) >= range.from && Number(w.windowEnd) <= range.until) windows.push(w);
      },
      onProgress: (p) => report(p, windows.length),
    });
    requireSensors(input, summary);
    err(`${label}: ${summary.rows} rows of ${summary.sensors.length} sensors (${summary.sensors.join(', ')}) → ${windows.length} windows`);
    reportUnused(label, summary, err);
  } catch (error) {
    if (error instanceof ReplayError) throw new UsageError(`${input}: ${error.message}`);
    throw error;
  }
  return windows;
}

/** Below this many tumbling windows, training uses hopping windows (a few hundred seconds of 1 Hz data give 40). */
export const MIN_TUMBLING_WINDOWS = 200;
/** Hopping training windows advance by this fraction of their size: 10 s windows every 1 s. */
const HOP_FRACTION = 10;
/** …and are used only when windows typically hold this many readings: a reading every other pane or more. */
export const MIN_HOPPING_READINGS = HOP_FRACTION / 2;

/** The gateway's window when none is configured (10 s). */
const GATEWAY_WINDOW_MS = windowEngineOptionsSchema.parse({ gatewayId: '-', siteId: '-' }).windowMs;
/** Slow data of this many sensors or fewer is trained one reading per window, for the adaptive-z detector. */
export const MAX_UNIVARIATE_SENSORS = 2;

export interface TrainingWindows {
  windows: MachineWindow[];
  /** One reading per window of one or two slow sensors (the window was chosen from the sampling interval). */
  slow: boolean;
}

/** A recording to train on: pdm train's --input and the replay options and range its flags give. */
export interface Recording {
  input: string;
  options: ReplayOptionsInput;
  range: WindowRange;
}

/** A recording cut into tumbling windows, and whether it is short enough, and dense enough, for hopping ones. */
interface Cut {
  recording: Recording;
  /** The replay options with the window it was cut into. */
  replay: ReplayOptionsInput;
  windowMs: number;
  slow: boolean;
  tumbling: MachineWindow[];
  hoppable: boolean;
}

/**
 * The windows `pdm train` learns from, of one recording or of several (a class model: one machine each,
 * its id the file's name): the tumbling windows the gateway emits live, or, when every recording is
 * short — fewer than MIN_TUMBLING_WINDOWS of them — and its windows hold MIN_HOPPING_READINGS or more
 * (10 s windows of 1 Hz data, not one reading every 5 minutes, where every hopping window would repeat
 * the same reading), hopping windows of the same size every tenth of it, from the same engine (panes
 * merged into windows), so the statistics are computed exactly as the scored windows' are — there are
 * just more of them, overlapping. All or none: a model counts how far its windows overlap once for all
 * of them. The hopping windows that reach over the start or the end of a machine's recording hold only
 * part of a window's readings and are left out. Without --window, the window is chosen from each
 * recording's sampling interval (chooseWindow). Refused, naming the files: two recordings of one
 * machine id, recordings cut into different windows, and, of several, one without a window.
 */
export async function trainingWindowsFromCsvs(
  recordings: readonly Recording[],
  err: (line: string) => void,
  /** False for a detector that reads its windows as a series (adaptive-z): overlapping windows would not be one. */
  allowHopping = true,
): Promise<TrainingWindows> {
  const seen = new Map<string, string>();
  for (const { input, options } of recordings) {
    const other = seen.get(options.machineId);
    if (other !== undefined) throw new UsageError(`${other} and ${input} are both machine ${options.machineId} (a recording's machine is its file name): rename one`);
    seen.set(options.machineId, input);
  }
  const cuts: Cut[] = [];
  for (const recording of recordings) {
    const cut = await tumblingCut(recording, err, allowHopping);
    const first = cuts[0] ?? cut;
    if (cut.windowMs !== first.windowMs || cut.slow !== first.slow) {
      const said = (c: Cut) => `${c.windowMs} ms windows${c.slow ? ', one reading each' : ''}`;
      throw new UsageError(`${first.recording.input} gives ${said(first)}, ${recording.input} ${said(cut)}: one model needs one window (--window to choose it)`);
    }
    if (recordings.length > 1 && cut.tumbling.length === 0) {
      const range = Number.isFinite(recording.range.from) || Number.isFinite(recording.range.until) ? ' between --from and --until' : '';
      throw new UsageError(`${recording.input}: no window of machine ${recording.options.machineId} to train on${range}`);
    }
    cuts.push(cut);
  }
  const slow = cuts[0]?.slow ?? false;
  if (!cuts.every((c) => c.hoppable)) return { windows: cuts.flatMap((c) => c.tumbling), slow };
  const windows: MachineWindow[] = [];
  for (const cut of cuts) windows.push(...(await hoppingWindows(cut, err)));
  return { windows, slow };
}

async function tumblingCut(recording: Recording, err: (line: string) => void, allowHopping: boolean): Promise<Cut> {
  const { input, options, range } = recording;
  const chosen = options.engine?.windowMs === undefined ? await chooseWindow(input, options, err) : undefined;
  const replay: ReplayOptionsInput = chosen === undefined ? options : { ...options, engine: { ...options.engine, windowMs: chosen.windowMs } };
  const windowMs = replay.engine?.windowMs ?? GATEWAY_WINDOW_MS;
  const tumbling = await windowsFromCsv(input, replay, range, err, 'train');
  const readings = tumbling.map((w) => Math.min(...w.sensors.map((s) => s.count))).sort((a, b) => a - b);
  const typicalReadings = readings[readings.length >> 1] ?? 0;
  const hoppable = allowHopping && tumbling.length < MIN_TUMBLING_WINDOWS && typicalReadings >= MIN_HOPPING_READINGS && windowMs % HOP_FRACTION === 0;
  return { recording, replay, windowMs, slow: chosen?.slow ?? false, tumbling, hoppable };
}

/** The hopping windows of a short recording (see trainingWindowsFromCsvs), said with how many. */
async function hoppingWindows(cut: Cut, err: (line: string) => void): Promise<MachineWindow[]> {
  const { recording, replay, windowMs } = cut;
  const hopMs = windowMs / HOP_FRACTION;
  const hopping = await windowsFromCsv(recording.input, { ...replay, engine: { ...replay.engine, windowMs, hopMs } }, recording.range, () => undefined, 'train');
  const inside = insideRecording(hopping, BigInt(windowMs - hopMs));
  err(
    `train: ${cut.tumbling.length} windows are fewer than ${MIN_TUMBLING_WINDOWS}: training on hopping windows of ${windowMs} ms every ${hopMs} ms` +
      ` (${inside.length} windows)`,
  );
  return inside;
}

/**
 * The window for a CSV without --window: the gateway's 10 s when it holds MIN_HOPPING_READINGS readings
 * or more. Slower data of one or two sensors gets one reading per window — its context comes from the
 * machine's history across windows (the adaptive-z detector), and a wider window would only delay every
 * decision; slower data of more sensors gets HOP_FRACTION readings per window, enough for a variance.
 */
async function chooseWindow(input: string, options: ReplayOptionsInput, err: (line: string) => void): Promise<{ windowMs: number; slow: boolean } | undefined> {
  const { intervalMs, sensors } = await samplingOf(input, options);
  if (intervalMs === undefined || GATEWAY_WINDOW_MS >= MIN_HOPPING_READINGS * intervalMs) return undefined;
  // Whole seconds (the interval is over 2 s here), so epoch-aligned windows line up with timestamps on the minute.
  const step = Math.round(intervalMs / 1000) * 1000;
  const slow = sensors.length <= MAX_UNIVARIATE_SENSORS;
  const windowMs = slow ? step : step * HOP_FRACTION;
  const holds = slow ? 'one reading per window' : `${HOP_FRACTION} readings per window`;
  err(`train: a reading every ${step} ms: window ${windowMs} ms, ${holds} (--window to choose another)`);
  return { windowMs, slow };
}

/** The windows that lie inside their machine's recording: none within `overhang` of its first start or last end. */
function insideRecording(windows: MachineWindow[], overhang: bigint): MachineWindow[] {
  const span = new Map<string, { first: bigint; last: bigint }>();
  for (const w of windows) {
    const s = span.get(w.machineId);
    if (s === undefined) span.set(w.machineId, { first: w.windowStart, last: w.windowEnd });
    else {
      if (w.windowStart < s.first) s.first = w.windowStart;
      if (w.windowEnd > s.last) s.last = w.windowEnd;
    }
  }
  return windows.filter((w) => {
    const s = span.get(w.machineId)!;
    return w.windowStart >= s.first + overhang && w.windowEnd <= s.last - overhang;
  });
}
