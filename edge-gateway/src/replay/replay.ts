import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { MachineWindow } from '@pdm/proto';
import { ManualClock } from '@pdm/clock';
import { WindowEngine, windowEngineOptionsSchema } from '../window/index.js';
import type { WindowEngineMetrics } from '../window/index.js';
import { CsvParser } from './csv-parser.js';
import type { CsvRecord } from './csv-parser.js';
import { CsvTable } from './csv-table.js';
import { BAD_ROW_EXAMPLES, replayOptionsSchema } from './options.js';
import type { ReplayOptionsInput } from './options.js';
import { ReplayError } from './replay-error.js';

export interface ReplayProgress {
  /** Data rows read so far (the header and blank lines excluded). */
  rows: number;
  bytesRead: number;
  /** Size of the input file; undefined when replaying a stream. */
  bytesTotal: number | undefined;
}

export interface ReplayHooks {
  /** Receives each window in emission order; a returned promise is awaited (backpressure). */
  onWindow(window: MachineWindow): void | Promise<void>;
  /** Called after each chunk of the input (64 KiB for files) and once at the end. */
  onProgress?(progress: ReplayProgress): void;
}

export interface ReplaySummary {
  timeColumn: string;
  sensors: string[];
  ignoredColumns: string[];
  rows: number;
  /** Readings the window engine took (those of a row dropped out of time order are not). */
  readings: number;
  badRows: number;
  /** The first bad rows (skip mode), as examples for the user. */
  badRowExamples: ReplayError[];
  /** Rows out of time order whose window had closed, dropped (onOutOfOrderRow 'skip'). */
  outOfOrderRows: number;
  /** The first of them, naming its line and the earlier row it came after. */
  firstOutOfOrderRow: ReplayError | undefined;
  engine: WindowEngineMetrics;
}

/**
 * Replays a CSV file (or stream) of one machine through the same WindowEngine the gateway runs.
 *
 * Event time comes from the data; the engine's clock follows the data's latest timestamp, so idle
 * timeouts and eviction happen where they would have, and the same file always gives the same
 * windows. At the end of the input no reading can follow, so windows the data covered close by
 * WATERMARK and only the trailing window the data stops inside closes as a SHUTDOWN partial (see
 * `WindowEngine.endOfStream`): training can keep WATERMARK windows and drop the rest.
 *
 * Rows need not be sorted within the engine's allowed lateness; a row later than that for a window
 * already closed is what the live gateway would drop (onOutOfOrderRow).
 *
 * Rejects with a ReplayError (with its `line`) for a bad header, for a bad row when onBadRow is
 * 'fail', and for a row out of time order when onOutOfOrderRow is 'fail'.
 */
export async function replayCsv(
  input: string | Readable,
  options: ReplayOptionsInput,
  hooks: ReplayHooks,
): Promise<ReplaySummary> {
  const opts = replayOptionsSchema.parse(options);
  const clock = new ManualClock(-Infinity);
  const pending: MachineWindow[] = [];
  // The data's time is no close time: replayed windows carry closedAt 0 (unknown), so published
  // ones never feed the pipeline's latency figures.
  const engineOptions = windowEngineOptionsSchema.parse({ gatewayId: 'replay', siteId: 'replay', ...opts.engine, clock, stampClosedAt: false });
  const engine = new WindowEngine(engineOptions, (w) => pending.push(w));
  const progress: ReplayProgress = {
    rows: 0,
    bytesRead: 0,
    bytesTotal: typeof input === 'string' ? (await stat(input)).size : undefined,
  };
  let table: CsvTable | undefined;
  let readings = 0;
  let badRows = 0;
  const badRowExamples: ReplayError[] = [];
  /** The line of the row with the latest time so far (the clock's time): what an out-of-order row came after. */
  let latestLine = 0;
  let outOfOrderRows = 0;
  let firstOutOfOrderRow: ReplayError | undefined;

  const consume = (record: CsvRecord): void => {
    if (table === undefined) {
      table = new CsvTable(record, opts.timeColumn, opts.delimiter !== ',');
      return;
    }
    progress.rows++;
    let row;
    try {
      row = table.readings(record);
    } catch (error) {
      if (!(error instanceof ReplayError) || opts.onBadRow === 'fail') throw error;
      badRows++;
      if (badRowExamples.length < BAD_ROW_EXAMPLES) badRowExamples.push(error);
      return;
    }
    if (row.ts > clock.now()) {
      clock.set(row.ts);
      latestLine = record.line;
    }
    let dropped = false;
    for (let i = 0; i < row.values.length; i++) {
      const result = engine.add(opts.machineId, row.sensorIds[i] ?? '', row.ts, row.values[i] ?? NaN);
      // A late reading is lost unless lateMode 'revise' folds it into its window; a too-late one always.
      if (result === 'too_late' || (result === 'late' && engineOptions.lateMode === 'count')) dropped = true;
      else readings++;
    }
    if (dropped) {
      const error = new ReplayError(
        'out_of_order', record.line,
        `row out of time order, ${seconds(clock.now() - row.ts)} before line ${latestLine}, beyond the allowed lateness of ` +
          `${seconds(engineOptions.allowedLatenessMs)}: its window had closed; sort the file by time`,
      );
      if (opts.onOutOfOrderRow === 'fail') throw error;
      outOfOrderRows++;
      firstOutOfOrderRow ??= error;
    }
    engine.tick();
  };
  const deliver = async (): Promise<void> => {
    for (const window of pending.splice(0)) await hooks.onWindow(window);
  };

  const parser = new CsvParser(opts.delimiter);
  const decoder = new TextDecoder('utf-8'); // drops a leading BOM
  const stream = typeof input === 'string' ? createReadStream(input) : input;
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    progress.bytesRead += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    for (const record of parser.push(text)) consume(record);
    await deliver();
    hooks.onProgress?.({ ...progress });
  }
  for (const record of [...parser.push(decoder.decode()), ...parser.end()]) consume(record);
  if (table === undefined) throw new ReplayError('no_header', 1, 'the input is empty: expected a header row');
  engine.endOfStream();
  await deliver();
  hooks.onProgress?.({ ...progress });
  return {
    timeColumn: table.timeColumnName,
    sensors: table.sensorColumns(),
    ignoredColumns: table.ignoredColumns(),
    rows: progress.rows,
    readings,
    badRows,
    badRowExamples,
    outOfOrderRows,
    firstOutOfOrderRow,
    engine: engine.metrics(),
  };
}

const seconds = (ms: number): string => `${ms / 1000} s`;
