// How often a CSV's rows come: the median gap between consecutive timestamps of its first rows. pdm
// train picks the window size from it when --window is not given.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { findTimeColumn, parseTimestamp } from '@pdm/config';

/** Rows looked at: enough for a stable median, few enough to stay instant on a large file. */
const SAMPLE_ROWS = 10_000;

export interface Sampling {
  /** Median positive gap between consecutive rows, ms (undefined with fewer than two timestamps). */
  intervalMs: number | undefined;
  /** Columns other than the time column: the sensors, as the replay reads them. */
  sensorColumns: number;
}

export async function samplingOf(input: string, timeColumn: string | undefined, delimiter = ','): Promise<Sampling> {
  const lines = createInterface({ input: createReadStream(input), crlfDelay: Infinity });
  let column = -1;
  let sensorColumns = 0;
  let previous: number | undefined;
  const gaps: number[] = [];
  let rows = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const cells = line.split(delimiter).map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    if (rows++ === 0) {
      column = findTimeColumn(cells, timeColumn);
      sensorColumns = cells.length - 1;
      if (column < 0) break; // the replay names the problem
      continue;
    }
    const t = parseTimestamp(cells[column] ?? '');
    if (t !== null) {
      if (previous !== undefined && t > previous) gaps.push(t - previous);
      previous = t;
    }
    if (rows > SAMPLE_ROWS) break;
  }
  lines.close();
  gaps.sort((a, b) => a - b);
  return { intervalMs: gaps.length > 0 ? gaps[gaps.length >> 1] : undefined, sensorColumns };
}
