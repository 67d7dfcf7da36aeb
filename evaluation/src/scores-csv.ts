// The scores file `pdm score` writes (a fixed interface): window_start,window_end,machine,score,
// threshold,anomaly — extra columns allowed, any order, ISO-8601 times, anomaly 0/1 — and, since alerts
// are part of what it reports, alert (open on the window that opens an alert, resolved on the one that
// resolves it, else empty), optional for files written before. A bad line is an error naming its line
// number, never a silently skipped row.
import { parseTimestamp } from '@pdm/config';

export interface ScoredWindow {
  /** Epoch ms; the window holds [start, end). */
  start: number;
  end: number;
  machine: string;
  score: number;
  threshold: number;
  anomaly: boolean;
  /** The alert transition this window caused, when the file has an alert column. */
  alert?: AlertCell;
}

/** The columns every scores.csv has. */
export const SCORES_COLUMNS = ['window_start', 'window_end', 'machine', 'score', 'threshold', 'anomaly'] as const;
type Column = (typeof SCORES_COLUMNS)[number];
/** The column after them: the alert transition of the window. */
export const ALERT_COLUMN = 'alert';
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

export function parseScoresCsv(text: string, source = 'scores'): ScoredWindow[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const index = Object.fromEntries(SCORES_COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<Column, number>;
  const missing = SCORES_COLUMNS.filter((c) => index[c] < 0);
  if (missing.length > 0) throw new ScoresFormatError(source, 1, `header lacks ${missing.join(', ')} (got "${lines[0] ?? ''}")`);
  const alertIndex = header.indexOf(ALERT_COLUMN);

  const windows: ScoredWindow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const cells = line.split(',');
    // A short row would read its missing cells as empty, a quoted cell with a comma would shift the
    // ones after it: either way the cells no longer sit under their columns.
    if (cells.length !== header.length) throw new ScoresFormatError(source, i + 1, `${cells.length} cells, the header has ${header.length}`);
    const cell = (c: Column) => (cells[index[c]] ?? '').trim();
    const time = (c: 'window_start' | 'window_end') => {
      const ms = parseTimestamp(cell(c));
      if (ms === null) throw new ScoresFormatError(source, i + 1, `${c} "${cell(c)}" is not a timestamp`);
      return ms;
    };
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
