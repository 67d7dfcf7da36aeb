// One labelled recording and a detector's scores.csv for it, judged by a protocol: the rows take the
// decisions of the windows holding them, then SKAB counts them or NAB scores them. SKAB judges every row
// (was the machine in alarm then?); NAB judges detections (when was somebody told?), so for NAB the
// decision is the window that opened an alert, when the scores say which ones did.
import { NAB_PROFILES, NAB_PROFILE_NAMES, type NabFileScore, type NabProfileName, type NabWindow, nabProbationRows, scoreNabFile } from './nab.js';
import { type Recording, type RecordingOptions, readRecording } from './recording.js';
import { type RowDecisions, decideRows } from './row-decisions.js';
import { parseScoresCsv, windowsOfMachine } from './scores-csv.js';
import { SKAB_LABEL_COLUMN, SKAB_TRAIN_ROWS, type SkabFileResult, skabFile } from './skab.js';

export interface ScoresInput {
  text: string;
  source: string;
  /** Which machine's windows, when the file holds several. */
  machine?: string;
  /** The alerts file beside the scores (readAlertsBeside), when there is one. */
  alerts?: { text: string; source: string } | undefined;
}

/** What marks a window as a detection. */
export type DecidedBy = 'anomalous windows' | 'alert openings';

/**
 * Decisions per row from a scores file; no scores at all (a detector that could not train) decides
 * nothing. `by` 'alert openings' takes the windows that opened an alert, when the scores come with
 * their alerts (else, scores written without them, the anomalous windows); `decidedBy` says which was used.
 */
export function rowDecisions(recording: Recording, scores: ScoresInput | undefined, by: DecidedBy = 'anomalous windows'): RowDecisions & { decidedBy: DecidedBy } {
  const windows = scores === undefined ? [] : windowsOfMachine(parseScoresCsv(scores.text, scores.source, scores.alerts), scores.machine, scores.source);
  const openings = by === 'alert openings' && windows.some((w) => w.alert !== undefined);
  if (!openings) return { ...decideRows(recording.timestamps, windows), decidedBy: 'anomalous windows' };
  // Every scored window decides its rows (normal); an opening is a detection at the window's end, so
  // it marks only the last row the window holds: an earlier row was not yet known to be anomalous.
  const rows = decideRows(recording.timestamps, windows.map((w) => ({ ...w, anomaly: false })));
  for (const w of windows) {
    if (w.alert !== 'open') continue;
    const last = lastRowBefore(recording.timestamps, w.end);
    if (last >= 0 && recording.timestamps[last]! >= w.start) rows.anomalous[last] = 1;
  }
  return { ...rows, decidedBy: 'alert openings' };
}

/** The index of the last timestamp before `end` (timestamps in order), -1 when none. */
function lastRowBefore(timestamps: readonly number[], end: number): number {
  let lo = 0;
  let hi = timestamps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timestamps[mid]! < end) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** SKAB: the recording carries its labels (column "anomaly"); rows 1–400 are the training split. */
export function evaluateSkab(recordingText: string, recordingSource: string, scores: ScoresInput | undefined, options: RecordingOptions = {}): SkabFileResult {
  const recording = readRecording(recordingText, recordingSource, { labelColumn: SKAB_LABEL_COLUMN, ...options });
  const { anomalous, decided } = rowDecisions(recording, scores);
  return skabFile(recording.labels!, anomalous, decided, SKAB_TRAIN_ROWS);
}

export interface NabFileResult {
  rows: number;
  probationRows: number;
  /** Scored rows (after probation) no window holds; they count as no detection. */
  undecided: number;
  /** Detections are the windows that opened an alert, or (scores without alerts) the anomalous ones. */
  decidedBy: DecidedBy;
  scores: Record<NabProfileName, NabFileScore>;
}

/** NAB: one series (`timestamp,value`) with its labelled windows from combined_windows.json. */
export function evaluateNab(seriesText: string, seriesSource: string, windows: readonly NabWindow[], scores: ScoresInput | undefined, options: RecordingOptions = {}): NabFileResult {
  const recording = readRecording(seriesText, seriesSource, options);
  const { anomalous, decided, decidedBy } = rowDecisions(recording, scores, 'alert openings');
  const rows = recording.timestamps.length;
  const probationRows = nabProbationRows(rows);
  let undecided = 0;
  for (let i = probationRows; i < rows; i++) if (decided[i] !== 1) undecided++;
  const byProfile = NAB_PROFILE_NAMES.map((name) => [name, scoreNabFile(recording.timestamps, anomalous, windows, NAB_PROFILES[name], probationRows)]);
  return { rows, probationRows, undecided, decidedBy, scores: Object.fromEntries(byProfile) as Record<NabProfileName, NabFileScore> };
}
