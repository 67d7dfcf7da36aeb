// The scores file `pdm score` writes (a fixed interface): window_start,window_end,machine,score,
// threshold,anomaly — extra columns allowed, any order, ISO-8601 times, anomaly 0/1. The alerts the
// windows opened and resolved are in a file of their own beside it (alertsFileFor: scores.alerts.csv),
// window_start,window_end,machine,alert with alert open or resolved, one row per transition, so the
// scores keep their six columns; scores.csv files written between 2026-12-06 and 2026-12-07 carry them
// as a seventh column, alert (open, resolved or empty), still read. A bad line is an error naming its
// line number, never a silently skipped row.
import { parseTimestamp } from '@pdm/config';

export interface ScoredWindow {
  /** Epoch ms; the window holds [start, end). */
  start: number;
  end: number;
  machine: string;
  score: number;
  threshold: number;
  anomaly: boolean;
  /** The alert transition this window caused, when the scores come with their alerts (an alerts file or column). */
  alert?: AlertCell;
}

/** The columns every scores.csv has. */
export const SCORES_COLUMNS = ['window_start', 'window_end', 'machine', 'score', 'threshold', 'anomaly'] as const;
type Column = (typeof SCORES_COLUMNS)[number];
/** The alerts file's column of the transition (and the seventh column of older scores files). */
export const ALERT_COLUMN = 'alert';
/** The columns of the alerts file beside the scores. */
export const ALERTS_COLUMNS = ['window_start', 'window_end', 'machine', ALERT_COLUMN] as const;
const ALERT_CELLS = ['open', 'resolved', ''] as const;
export type AlertCell = (typeof ALERT_CELLS)[number];

/** A decimal number, exponent allowed (JavaScript writes 1e-7 so); not Infinity, NaN or 0x10, which Number() would take. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

export class ScoresFormatError extends Error {
  constructor(source: string, line: number, problem: string) {
    super(`${source} line ${line}: ${problem}`);
    this.name = 'ScoresFormatError';
  }
}

/** The alerts file `pdm score` writes beside `scoresPath`: scores.csv → scores.alerts.csv. */
export function alertsFileFor(scoresPath: string): string {
  return `${scoresPath.replace(/\.csv$/i, '')}.alerts.csv`;
}

/**
 * The windows of a scores file, each with its alert transition when `alerts` (the text of the alerts
 * file beside it) is given or the file has the older alert column: every window without a transition
 * then has ''. A transition naming no window of the scores, or one the alert rule would not have made
 * on them, is an error: the two files do not belong together.
 */
export function parseScoresCsv(text: string, source = 'scores', alerts?: { text: string; source: string }): ScoredWindow[] {
  const windows = parseWindows(text, source);
  if (alerts === undefined || windows.some((w) => w.alert !== undefined)) return windows;
  const byWindow = new Map(windows.map((w) => [windowKey(w), w]));
  for (const w of windows) w.alert = '';
  // What the alert rule does (the processor's AlertTracker): an alert opens on an anomalous window and
  // resolves on a normal one, and a machine's opens and resolves alternate. An alerts file that breaks
  // this was written for other scores (an older run's beside a newer scores file).
  const open = new Map<string, boolean>();
  for (const { line, window, alert } of parseAlertRows(alerts.text, alerts.source)) {
    const scored = byWindow.get(windowKey(window));
    const at = `${window.machine} from ${new Date(window.start).toISOString()} to ${new Date(window.end).toISOString()}`;
    if (scored === undefined) throw new ScoresFormatError(alerts.source, line, `no window of ${at} in ${source}`);
    const opens = alert === 'open';
    if (scored.anomaly !== opens || (open.get(window.machine) ?? false) === opens) {
      throw new ScoresFormatError(alerts.source, line, `${alert} on the window of ${at}, ${scored.anomaly ? 'anomalous' : 'normal'} in ${source}, does not follow the alert rule: the alerts were written for other scores`);
    }
    open.set(window.machine, opens);
    scored.alert = alert;
  }
  return windows;
}

function windowKey(w: Pick<ScoredWindow, 'machine' | 'start' | 'end'>): string {
  return `${w.machine}\u0000${w.start}\u0000${w.end}`;
}

/** The header's index of each column, or an error naming those missing. */
function columnIndex<C extends string>(lines: readonly string[], columns: readonly C[], source: string): { header: string[]; index: Record<C, number> } {
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const index = Object.fromEntries(columns.map((c) => [c, header.indexOf(c)])) as Record<C, number>;
  const missing = columns.filter((c) => index[c] < 0);
  if (missing.length > 0) throw new ScoresFormatError(source, 1, `header lacks ${missing.join(', ')} (got "${lines[0] ?? ''}")`);
  return { header, index };
}

/** A row's cells, refused when they do not sit under the header's columns. */
function cellsOf(line: string, header: readonly string[], source: string, lineNumber: number): string[] {
  const cells = line.split(',');
  // A short row would read its missing cells as empty, a quoted cell with a comma would shift the
  // ones after it: either way the cells no longer sit under their columns.
  if (cells.length !== header.length) throw new ScoresFormatError(source, lineNumber, `${cells.length} cells, the header has ${header.length}`);
  return cells;
}

function timeCell(value: string, column: string, source: string, line: number): number {
  const ms = parseTimestamp(value);
  if (ms === null) throw new ScoresFormatError(source, line, `${column} "${value}" is not a timestamp`);
  return ms;
}

/** The alerts file's rows: each an open or a resolve on one window. */
function parseAlertRows(text: string, source: string): { line: number; window: Pick<ScoredWindow, 'machine' | 'start' | 'end'>; alert: AlertCell }[] {
  const lines = text.split(/\r?\n/);
  const { header, index } = columnIndex(lines, ALERTS_COLUMNS, source);
  const rows = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const cells = cellsOf(line, header, source, i + 1);
    const cell = (c: (typeof ALERTS_COLUMNS)[number]) => (cells[index[c]] ?? '').trim();
    const alert = cell(ALERT_COLUMN);
    if (alert !== 'open' && alert !== 'resolved') throw new ScoresFormatError(source, i + 1, `alert must be open or resolved, got "${alert}"`);
    const window = { machine: cell('machine'), start: timeCell(cell('window_start'), 'window_start', source, i + 1), end: timeCell(cell('window_end'), 'window_end', source, i + 1) };
    rows.push({ line: i + 1, window, alert: alert as AlertCell });
  }
  return rows;
}

function parseWindows(text: string, source: string): ScoredWindow[] {
  const lines = text.split(/\r?\n/);
  const { header, index } = columnIndex(lines, SCORES_COLUMNS, source);
  const alertIndex = header.indexOf(ALERT_COLUMN);

  const windows: ScoredWindow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const cells = cellsOf(line, header, source, i + 1);
    const cell = (c: Column) => (cells[index[c]] ?? '').trim();
    const time = (c: 'window_start' | 'window_end') => timeCell(cell(c), c, source, i + 1);
    const number = (c: 'score' | 'threshold') => {
      const value = Number(cell(c));
      if (!DECIMAL.test(cell(c)) || !Number.isFinite(value)) throw new ScoresFormatError(source, i + 1, `${c} "${cell(c)}" is not a finite decimal number`);
      return value;
    };
    const anomaly = cell('anomaly');
    if (anomaly !== '0' && anomaly !== '1') throw new ScoresFormatError(source, i + 1, `anomaly must be 0 or 1, got "${anomaly}"`);
    const window: ScoredWindow = {
      start: time('window_start'),
      end: time('window_end'),
      machine: cell('machine'),
      score: number('score'),
      threshold: number('threshold'),
      anomaly: anomaly === '1',
    };
    if (alertIndex >= 0) {
      const alert = (cells[alertIndex] ?? '').trim();
      if (!(ALERT_CELLS as readonly string[]).includes(alert)) throw new ScoresFormatError(source, i + 1, `alert must be open, resolved or empty, got "${alert}"`);
      window.alert = alert as AlertCell;
    }
    if (window.machine === '') throw new ScoresFormatError(source, i + 1, 'machine is empty');
    if (window.end <= window.start) throw new ScoresFormatError(source, i + 1, 'window_end must be after window_start');
    windows.push(window);
  }
  return windows;
}

/**
 * The windows of one machine. A scores file of one recording has one machine; with several, the
 * caller must say which (rows of a recording belong to one machine).
 */
export function windowsOfMachine(windows: readonly ScoredWindow[], machine: string | undefined, source = 'scores'): ScoredWindow[] {
  const machines = [...new Set(windows.map((w) => w.machine))];
  if (machine === undefined) {
    if (machines.length > 1) throw new Error(`${source} holds ${machines.length} machines (${machines.join(', ')}): say which one the labels belong to`);
    return [...windows];
  }
  if (!machines.includes(machine)) throw new Error(`${source} has no windows of machine "${machine}" (it has ${machines.join(', ') || 'none'})`);
  return windows.filter((w) => w.machine === machine);
}
