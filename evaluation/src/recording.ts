// A labelled recording as the benchmarks ship it: a delimited text file with a header row, a time
// column and, for SKAB, a 0/1 label column. Fields are plain (no quoting): SKAB and NAB never quote,
// and `pdm train`/`pdm score` read the same files. A bad row is an error naming its line number.
import { findTimeColumn, noTimeColumnReason, parseTimestamp } from '@pdm/config';

export class RecordingFormatError extends Error {
  constructor(source: string, line: number, problem: string) {
    super(`${source} line ${line}: ${problem}`);
    this.name = 'RecordingFormatError';
  }
}

export interface DelimitedText {
  header: string[];
  delimiter: string;
  /** Data rows in file order, with their 1-based line number in the file. */
  rows: { line: number; cells: string[] }[];
}

/** Splits a file into header and rows; the delimiter is `;`, tab or `,`, whichever the header uses. */
export function readDelimited(text: string, source: string): DelimitedText {
  const lines = text.split(/\r?\n/);
  const first = lines[0] ?? '';
  const delimiter = first.includes(';') ? ';' : first.includes('\t') ? '\t' : ',';
  const header = first.split(delimiter).map((h) => h.trim());
  if (first.trim() === '') throw new RecordingFormatError(source, 1, 'no header row');
  const rows: DelimitedText['rows'] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const cells = line.split(delimiter);
    if (cells.length !== header.length) {
      throw new RecordingFormatError(source, i + 1, `${cells.length} fields, the header has ${header.length}`);
    }
    rows.push({ line: i + 1, cells });
  }
  return { header, delimiter, rows };
}

export interface RecordingOptions {
  /** Default: the first column named time/timestamp/ts/date/datetime, as `pdm train` picks it. */
  timeColumn?: string;
  /** A 0/1 column of ground truth (SKAB: "anomaly"); absent when the labels live elsewhere (NAB). */
  labelColumn?: string;
}

export interface Recording {
  /** Epoch ms per row, in file order. */
  timestamps: number[];
  /** 1 where the row is labelled anomalous; present when a label column was asked for. */
  labels?: Uint8Array;
}

export function readRecording(text: string, source: string, options: RecordingOptions = {}): Recording {
  const table = readDelimited(text, source);
  const timeIndex = findTimeColumn(table.header, options.timeColumn);
  if (timeIndex < 0) throw new RecordingFormatError(source, 1, `${noTimeColumnReason(table.header, options.timeColumn)} (header "${table.header.join(table.delimiter)}")`);
  const labelIndex = options.labelColumn === undefined ? -1 : table.header.indexOf(options.labelColumn);
  if (options.labelColumn !== undefined && labelIndex < 0) {
    throw new RecordingFormatError(source, 1, `no label column "${options.labelColumn}" in "${table.header.join(table.delimiter)}"`);
  }
  const timestamps: number[] = [];
  const labels = labelIndex < 0 ? undefined : new Uint8Array(table.rows.length);
  for (const [i, { line, cells }] of table.rows.entries()) {
    const time = parseTimestamp(cells[timeIndex] ?? '');
    if (time === null) throw new RecordingFormatError(source, line, `"${cells[timeIndex]}" is not a timestamp`);
    // Both protocols take file order for time order (SKAB trains on the first rows, NAB scores a
    // detection by its place in a window): a row out of order would be judged at the wrong time.
    // Equal neighbours are allowed: NAB's own files repeat a timestamp where clocks went back.
    const previous = table.rows[i - 1];
    if (previous && time < timestamps[i - 1]!) {
      throw new RecordingFormatError(source, line, `rows must be in time order: "${cells[timeIndex]}" is before line ${previous.line}'s "${previous.cells[timeIndex]}"`);
    }
    timestamps.push(time);
    if (labels) {
      // Number('') is 0: an empty cell would pass for a normal row.
      const cell = (cells[labelIndex] ?? '').trim();
      const label = cell === '' ? Number.NaN : Number(cell);
      if (label !== 0 && label !== 1) throw new RecordingFormatError(source, line, `${options.labelColumn} must be 0 or 1, got "${cells[labelIndex]}"`);
      labels[i] = label;
    }
  }
  return labels ? { timestamps, labels } : { timestamps };
}

/**
 * Cuts a recording into the part a detector learns from (the first `trainRows` data rows) and the
 * part it is measured on (the rest), each with the header, without the given columns: labels must
 * not reach `pdm train` or `pdm score`, which take every numeric column for a sensor.
 */
export function splitRecording(text: string, source: string, trainRows: number, dropColumns: readonly string[] = []): { train: string; test: string } {
  const table = readDelimited(text, source);
  const keep = table.header.map((name, i) => (dropColumns.includes(name) ? -1 : i)).filter((i) => i >= 0);
  const line = (cells: readonly string[]) => keep.map((i) => cells[i]).join(table.delimiter);
  const head = line(table.header);
  const body = table.rows.map((row) => line(row.cells));
  return {
    train: [head, ...body.slice(0, trainRows)].join('\n') + '\n',
    test: [head, ...body.slice(trainRows)].join('\n') + '\n',
  };
}
