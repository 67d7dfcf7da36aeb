// The CSV flags shared by `pdm replay`, `pdm train` and `pdm score` (a fixed interface): one time
// column, every other numeric column a sensor, windowed by the gateway's own engine. Also the time
// flags of every command and the --out file of replay and score.
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, parse } from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { parseDuration, parseTimestamp } from '@pdm/config';
import { replayOptionsSchema, type ReplayOptionsInput } from '@pdm/edge-gateway';
import { UsageError } from './command.js';
import { eitherSpelling } from './flag-spelling.js';

export const CSV_FLAG_OPTIONS = {
  input: { type: 'string' },
  machine: { type: 'string' },
  'time-column': { type: 'string' },
  delimiter: { type: 'string' },
  window: { type: 'string' },
  from: { type: 'string' },
  until: { type: 'string' },
  /** Old spellings of --from and --until (pdm train --from-influx had them). */
  start: { type: 'string' },
  end: { type: 'string' },
} as const;

export const CSV_FLAG_HELP = `  --input FILE          CSV with a header row: a time column (ISO-8601, no zone = UTC, or epoch ms/s)
                        and one numeric column per sensor (empty, NaN, NA, N/A, null or - is no
                        reading); rows in time order (up to 2 s out of order is fine)
  --machine ID          machine id for the rows (default: the file name without extension)
  --time-column NAME    the time column (default: the first of time, timestamp, ts, date, datetime;
                        a date column beside another of them must be chosen with this flag)
  --delimiter CHAR      field separator (default: ,)
  --window DURATION     window size, e.g. 10s, 500ms, 1m (default: pdm train picks it from the
                        sampling interval, pdm score uses the model's, pdm replay 10s)
  --from T, --until T   keep only windows starting at or after T / ending at or before T (as the
                        time column: ISO-8601, no zone = UTC, or epoch ms/s), e.g. train on the
                        healthy start of a recording and score the rest (--start T, --end T are
                        accepted as old spellings)`;

export interface CsvFlagValues {
  input?: string;
  machine?: string;
  'time-column'?: string;
  delimiter?: string;
  window?: string;
  from?: string;
  until?: string;
  start?: string;
  end?: string;
}

/** --from and --until, or their old spellings --start and --end, as given (text for timeFlag). */
export function timeRangeFlags(values: Pick<CsvFlagValues, 'from' | 'until' | 'start' | 'end'>): { from?: string; until?: string } {
  return { from: eitherSpelling(values, 'from', 'start'), until: eitherSpelling(values, 'until', 'end') };
}

/** Event-time range of the windows to keep, epoch ms. */
export interface WindowRange {
  from: number;
  until: number;
}

/**
 * A time flag's epoch ms, read as the CSV's time column is (parseTimestamp): without a zone it is UTC,
 * as the rows it selects are, never the host's local time (Date.parse's reading).
 */
export function timeFlag(flag: string, value: string): number {
  const ms = parseTimestamp(value);
  if (ms === null) throw new UsageError(`--${flag}: "${value}" is not an ISO-8601 time (no zone = UTC) or epoch ms/s, such as 2026-12-06T18:00:00Z`);
  return ms;
}

/**
 * Opens the --out file before the work: a path that cannot be written is a usage error at once, not a
 * crash ("Unhandled 'error' event") once the whole input was read. The lines go to a hidden file
 * beside it, renamed over it by close(true) once the work is done: a run that fails half-way (a bad
 * row, a missing model) leaves the previous file as it was, not emptied. close() rejects with a write
 * error met on the way (a full disk); close(false) removes the partial file.
 */
export async function openOutput(path: string): Promise<{ write: (text: string) => void; close: (complete: boolean) => Promise<void> }> {
  const partial = join(dirname(path), `.${basename(path)}.partial-${randomBytes(4).toString('hex')}`);
  const stream = createWriteStream(partial);
  try {
    await once(stream, 'open');
  } catch (error) {
    // Names the user's path, not the hidden one: ENOENT: no such file or directory, open '…'
    throw new UsageError(`--out: ${(error as Error).message.replace(partial, path)}`);
  }
  // finished() reports a later error at close(); until then this listener keeps it from crashing the process.
  stream.on('error', () => undefined);
  return {
    write: (text) => void stream.write(text),
    close: async (complete) => {
      stream.end();
      let kept = false;
      try {
        await finished(stream);
        if (complete) {
          await rename(partial, path);
          kept = true;
        }
      } finally {
        if (!kept) await rm(partial, { force: true });
      }
    },
  };
}

export function csvReplayOptions(values: CsvFlagValues): { input: string; options: ReplayOptionsInput; range: WindowRange } {
  if (!values.input) throw new UsageError('--input FILE is required');
  const machineId = values.machine ?? parse(values.input).name;
  let windowMs: number | undefined;
  if (values.window !== undefined) {
    try {
      windowMs = parseDuration(values.window); // the unit is required: a bare 10 could be s or ms
    } catch (error) {
      throw new UsageError(`--window: ${(error as Error).message}`);
    }
    if (!Number.isInteger(windowMs) || windowMs <= 0) {
      throw new UsageError(`--window: "${values.window}" must be a positive whole number of milliseconds`);
    }
  }
  if (values.delimiter !== undefined && values.delimiter.length !== 1) {
    throw new UsageError(`--delimiter must be one character, got "${values.delimiter}"`);
  }
  const options: ReplayOptionsInput = {
    machineId,
    timeColumn: values['time-column'],
    delimiter: values.delimiter,
    engine: windowMs === undefined ? {} : { windowMs },
  };
  const checked = replayOptionsSchema.safeParse(options);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    if (issue?.path[0] === 'machineId' && values.machine === undefined) {
      throw new UsageError(`--input ${values.input}: its file name gives the machine id "${machineId}", and ${issue.message}: rename the file (or, with one --input, give --machine)`);
    }
    const flag = issue?.path[0] === 'machineId' ? '--machine' : `--${String(issue?.path[0] ?? 'input')}`;
    throw new UsageError(`${flag}: ${issue?.message ?? 'invalid'}`);
  }
  const { from, until } = timeRangeFlags(values);
  const range = { from: from === undefined ? -Infinity : timeFlag('from', from), until: until === undefined ? Infinity : timeFlag('until', until) };
  // Checked once the flags are, before anything reads the file (train's sampling, replay's size for
  // its progress) or writes an output.
  if (!existsSync(values.input)) throw new UsageError(`--input: ${values.input} does not exist`);
  return { input: values.input, options, range };
}
