// Detection measured the way public benchmarks measure it: SKAB's pointwise protocol and NAB's
// scoring rules, from a detector's scores.csv and a labelled recording.
export { readDelimited, readRecording, splitRecording, RecordingFormatError } from './recording.js';
export type { DelimitedText, Recording, RecordingOptions } from './recording.js';
export { ALERT_COLUMN, ALERTS_COLUMNS, SCORES_COLUMNS, alertsFileFor, parseScoresCsv, windowsOfMachine, ScoresFormatError } from './scores-csv.js';
export { readAlertsBeside } from './alerts-beside.js';
export type { AlertCell, ScoredWindow } from './scores-csv.js';
export { decideRows } from './row-decisions.js';
export type { RowDecisions, WindowDecision } from './row-decisions.js';
export { SKAB_LABEL_COLUMN, SKAB_NON_SENSOR_COLUMNS, SKAB_TRAIN_ROWS, skabBaselines, skabFile, skabMetrics, sumSkab } from './skab.js';
export type { Confusion, SkabFileResult, SkabMetrics } from './skab.js';
export { NAB_PROFILES, NAB_PROFILE_NAMES, nabCorpusScore, nabProbationRows, scaledSigmoid, scoreNabFile } from './nab.js';
export type { NabCorpusScore, NabFileScore, NabProfile, NabProfileName, NabWindow } from './nab.js';
export { nabLabelKey, parseNabLabels } from './nab-labels.js';
export type { NabLabels } from './nab-labels.js';
export { NAB_PARITY_TOLERANCE, checkNabParity, nabParityOfFile, parityHolds } from './nab-parity.js';
export type { NabParityRow } from './nab-parity.js';
export { evaluateNab, evaluateSkab, rowDecisions } from './evaluate.js';
export type { DecidedBy, NabFileResult, ScoresInput } from './evaluate.js';
export { renderNab, renderSkab, renderTable } from './report.js';
export type { FileOutcome, SkippedFile } from './report.js';
