// Reads the scores file `pdm score` writes: header window_start,window_end,machine,score,threshold,anomaly
// (extra columns allowed, any order), ISO-8601 times, anomaly 0/1. A bad line is an error naming the
// line number and the column, never a silently skipped row.

export interface ScoreRow {
  windowStart: number;
  windowEnd: number;
  machine: string;
  score: number;
  threshold: number;
  anomaly: boolean;
}

export const SCORE_COLUMNS = ['window_start', 'window_end', 'machine', 'score', 'threshold', 'anomaly'] as const;

export class ScoresFormatError extends Error {
  constructor(line: number, problem: string) {
    super(`scores line ${line}: ${problem}`);
    this.name = 'ScoresFormatError';
  }
}

export function parseScoresCsv(text: string): ScoreRow[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const index = Object.fromEntries(SCORE_COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<
    (typeof SCORE_COLUMNS)[number],
    number
  >;
  const missing = SCORE_COLUMNS.filter((c) => index[c] < 0);
  if (missing.length > 0) throw new ScoresFormatError(1, `header lacks ${missing.join(', ')} (got "${lines[0] ?? ''}")`);

  const rows: ScoreRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const cell = (c: (typeof SCORE_COLUMNS)[number]) => (cells[index[c]] ?? '').trim();
    const time = (c: 'window_start' | 'window_end') => {
      const ms = Date.parse(cell(c));
      if (!Number.isFinite(ms)) throw new ScoresFormatError(i + 1, `${c} "${cell(c)}" is not an ISO-8601 time`);
      return ms;
    };
    const number = (c: 'score' | 'threshold') => {
      const value = Number(cell(c));
      if (cell(c) === '' || Number.isNaN(value)) throw new ScoresFormatError(i + 1, `${c} "${cell(c)}" is not a number`);
      return value;
    };
    const anomaly = cell('anomaly');
    if (anomaly !== '0' && anomaly !== '1') throw new ScoresFormatError(i + 1, `anomaly must be 0 or 1, got "${anomaly}"`);
    const machine = cell('machine');
    if (machine === '') throw new ScoresFormatError(i + 1, 'machine is empty');
    const row = {
      windowStart: time('window_start'),
      windowEnd: time('window_end'),
      machine,
      score: number('score'),
      threshold: number('threshold'),
      anomaly: anomaly === '1',
    };
    if (row.windowEnd <= row.windowStart) throw new ScoresFormatError(i + 1, 'window_end must be after window_start');
    rows.push(row);
  }
  return rows;
}
