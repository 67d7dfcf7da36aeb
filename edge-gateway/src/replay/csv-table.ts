import type { CsvRecord } from './csv-parser.js';
import { isReadingValue, MAX_READING_MAGNITUDE } from '../ingest/index.js';
import { ReplayError } from './replay-error.js';
import { findTimeColumn, noTimeColumnReason, parseTimestamp } from '@pdm/config';

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** A number with a decimal comma (1,5), as spreadsheets in much of Europe write it in `;` files. */
const DECIMAL_COMMA = /^[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?$/;
/**
 * A cell that stands for no reading, as spreadsheets, pandas and R export one: empty, NaN, NA, N/A,
 * null or -. Read as a label it would make a sensor column "not numeric" when it came first, and
 * refuse the file when it came later.
 */
const MISSING = /^(?:|nan|na|n\/a|null|-)$/i;

/**
 * What a column turned out to be, decided by its first cell holding a value (not MISSING). 'ignored':
 * non-numeric there (a label, a state name), so not a sensor.
 */
type ColumnKind = 'undecided' | 'sensor' | 'ignored';

/** The readings of one row, in reusable arrays: `sensorIds[i]` read `values[i]` at `ts`. */
export interface RowReadings {
  ts: number;
  sensorIds: string[];
  values: number[];
}

/**
 * Interprets CSV records as sensor readings. The header names the columns: one is the time, every
 * other column whose first value is numeric is a sensor (the column name is the sensor id), a column
 * whose first value is not numeric is ignored, and so is a column with an empty name (a trailing
 * delimiter). Missing cells (MISSING: empty, NaN, NA…) are no reading wherever they stand. When the
 * delimiter is not a comma, a decimal comma (1,5) is read as a decimal point: otherwise a `;` file
 * from a European spreadsheet has no sensor at all. A row is checked whole before any of it is used,
 * so a bad row contributes nothing.
 */
export class CsvTable {
  readonly timeColumnName: string;
  private readonly names: string[];
  private readonly timeIndex: number;
  private readonly kinds: ColumnKind[];
  private readonly row: RowReadings = { ts: 0, sensorIds: [], values: [] };

  /** `decimalComma`: also read 1,5 as 1.5 (only unambiguous when the comma is not the delimiter). */
  constructor(header: CsvRecord, timeColumn: string | undefined, private readonly decimalComma = false) {
    this.names = header.fields.map((f) => f.trim());
    this.timeIndex = findTimeColumn(this.names, timeColumn);
    if (this.timeIndex < 0) throw new ReplayError('no_time_column', header.line, noTimeColumnReason(this.names, timeColumn));
    this.timeColumnName = this.names[this.timeIndex] ?? '';
    const seen = new Set<string>();
    for (const name of this.names) {
      if (name !== '' && seen.has(name)) {
        throw new ReplayError('duplicate_column', header.line, `column "${name}" appears twice in the header`);
      }
      seen.add(name);
    }
    this.kinds = this.names.map((name) => (name === '' ? 'ignored' : 'undecided'));
  }

  sensorColumns(): string[] {
    return this.names.filter((_, i) => this.kinds[i] === 'sensor');
  }

  /** The named columns not read as sensors: not numeric, or without a single value. */
  ignoredColumns(): string[] {
    return this.names.filter((name, i) => i !== this.timeIndex && name !== '' && this.kinds[i] !== 'sensor');
  }

  /** The cell's number (±Infinity when it overflows), NaN when it is no number. */
  private number(cell: string): number {
    if (NUMBER.test(cell)) return Number(cell);
    return this.decimalComma && DECIMAL_COMMA.test(cell) ? Number(cell.replace(',', '.')) : NaN;
  }

  /** The readings of `record`; throws a ReplayError naming the line and the reason when it is bad. */
  readings(record: CsvRecord): RowReadings {
    const { fields, line } = record;
    if (fields.length !== this.names.length) {
      throw new ReplayError('column_count', line, `expected ${this.names.length} fields as in the header, found ${fields.length}`);
    }
    const timeCell = fields[this.timeIndex] ?? '';
    const ts = parseTimestamp(timeCell);
    if (ts === null) {
      throw new ReplayError(
        'bad_time', line,
        `unparsable time "${timeCell}" in column "${this.timeColumnName}" (expected ISO-8601, epoch ms or epoch s)`,
      );
    }
    const row = this.row;
    row.ts = ts;
    row.sensorIds.length = 0;
    row.values.length = 0;
    for (let i = 0; i < fields.length; i++) {
      if (i === this.timeIndex) continue;
      const cell = (fields[i] ?? '').trim();
      if (MISSING.test(cell)) continue;
      let kind = this.kinds[i];
      if (kind === 'undecided') {
        kind = Number.isNaN(this.number(cell)) ? 'ignored' : 'sensor';
        this.kinds[i] = kind;
      }
      if (kind !== 'sensor') continue;
      const value = this.number(cell);
      if (!isReadingValue(value)) {
        throw new ReplayError('bad_value', line, `value "${cell}" in numeric column "${this.names[i] ?? ''}" is not a finite number within ±${MAX_READING_MAGNITUDE}`);
      }
      row.sensorIds.push(this.names[i] ?? '');
      row.values.push(value);
    }
    return row;
  }
}
