// One labelled recording and a detector's scores.csv for it, judged by a protocol: the rows take the
// decisions of the windows holding them, then SKAB counts them or NAB scores them.
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
}

/** Decisions per row from a scores file; no scores at all (a detector that could not train) decides nothing. */
export function rowDecisions(recording: Recording, scores: ScoresInput | undefined): RowDecisions {
  const windows = scores === undefined ? [] : windowsOfMachine(parseScoresCsv(scores.text, scores.source), scores.machine, scores.source);
  return decideRows(recording.timestamps, windows);
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
  scores: Record<NabProfileName, NabFileScore>;
}

/** NAB: one series (`timestamp,value`) with its labelled windows from combined_windows.json. */
export function evaluateNab(seriesText: string, seriesSource: string, windows: readonly NabWindow[], scores: ScoresInput | undefined, options: RecordingOptions = {}): NabFileResult {
  const recording = readRecording(seriesText, seriesSource, options);
  const { anomalous, decided } = rowDecisions(recording, scores);
  const rows = recording.timestamps.length;
  const probationRows = nabProbationRows(rows);
  let undecided = 0;
  for (let i = probationRows; i < rows; i++) if (decided[i] !== 1) undecided++;
  const byProfile = NAB_PROFILE_NAMES.map((name) => [name, scoreNabFile(recording.timestamps, anomalous, windows, NAB_PROFILES[name], probationRows)]);
  return { rows, probationRows, undecided, scores: Object.fromEntries(byProfile) as Record<NabProfileName, NabFileScore> };
}
