// How often a CSV's rows come — the median gap between consecutive timestamps of its first rows — and
// which of its columns are sensors. pdm train picks the window size, and the detector, from them when
// --window is not given.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { findTimeColumn, parseTimestamp } from '@pdm/config';
import { ReplayError, replayCsv, type ReplayOptionsInput } from '@pdm/edge-gateway';

/** Rows looked at: enough for a stable median, few enough to stay instant on a large file. */
const SAMPLE_ROWS = 10_000;
/**
 * Lines read past SAMPLE_ROWS at most to finish a quoted field that goes on over lines: a stray quote
 * inside a field (a label `12" valve`, a literal to the CSV reader) would otherwise keep the count odd
 * and the sample growing to the whole file.
 */
const MAX_QUOTED_LINES = 1_000;

export interface Sampling {
  /** Median positive gap between consecutive rows, ms (undefined with fewer than two timestamps). */
  intervalMs: number | undefined;
  /**
   * The sensors of those rows, as the replay reads them: not a label or state column of text, nor
   * one without a name or a value.
   */
  sensors: string[];
}

export async function samplingOf(input: string, options: ReplayOptionsInput): Promise<Sampling> {
  const delimiter = options.delimiter ?? ',';
  const lines = createInterface({ input: createReadStream(input), crlfDelay: Infinity });
  const sample: string[] = [];
  let column = -1;
  let previous: number | undefined;
  const gaps: number[] = [];
  /** Inside a quoted field that goes on on the next line: the sample does not end there. */
  let quoted = false;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    sample.push(line);
    if ((line.split('"').length - 1) % 2 === 1) quoted = !quoted;
    const cells = line.split(delimiter).map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    if (sample.length === 1) {
      column = findTimeColumn(cells, options.timeColumn);
      if (column < 0) break; // the replay names the problem
      continue;
    }
    const t = parseTimestamp(cells[column] ?? '');
    if (t !== null) {
      if (previous !== undefined && t > previous) gaps.push(t - previous);
      previous = t;
    }
    if (sample.length > SAMPLE_ROWS && (!quoted || sample.length > SAMPLE_ROWS + MAX_QUOTED_LINES)) break;
  }
  lines.close();
  const sensors = column < 0 ? undefined : await sensorsOf(sample, options);
  // A header the replay refuses (it names the problem): no sensors to count, so no choice.
  if (sensors === undefined) return { intervalMs: undefined, sensors: [] };
  gaps.sort((a, b) => a - b);
  return { intervalMs: gaps.length > 0 ? gaps[gaps.length >> 1] : undefined, sensors };
}

/**
 * The sensors of the sampled lines, by the replay's own rule (its CSV table: a named column whose first
 * value is a number), so the choice of window and detector counts the sensors training will see.
 * Its bad rows are the replay proper's to refuse, with their line.
 */
async function sensorsOf(sample: string[], options: ReplayOptionsInput): Promise<string[] | undefined> {
  try {
    const summary = await replayCsv(Readable.from([sample.join('\n')]), { ...options, onBadRow: 'skip' }, { onWindow: () => undefined });
    return summary.sensors;
  } catch (error) {
    if (error instanceof ReplayError) return undefined;
    throw error;
  }
}
