// NAB's ground truth, labels/combined_windows.json: { "<category>/<file>.csv": [[start, end], …] }
// with times like "2014-04-10 07:15:00.000000" (UTC, both ends included).
import type { NabWindow } from './nab.js';
import { parseTimestamp } from '@pdm/config';

export type NabLabels = Map<string, NabWindow[]>;

export function parseNabLabels(document: unknown, source = 'combined_windows.json'): NabLabels {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error(`${source}: expected an object of "<category>/<file>.csv": [[start, end], …]`);
  }
  const labels: NabLabels = new Map();
  for (const [file, windows] of Object.entries(document)) {
    if (!Array.isArray(windows)) throw new Error(`${source}: "${file}" is not a list of windows`);
    const parsed = windows.map((pair: unknown, k) => {
      const [start, end] = Array.isArray(pair) ? pair.map((t) => (typeof t === 'string' ? parseTimestamp(t) : null)) : [];
      if (!Array.isArray(pair) || pair.length !== 2 || typeof start !== 'number' || typeof end !== 'number' || end < start) {
        throw new Error(`${source}: window ${k + 1} of "${file}" is not [start, end] timestamps in order: ${JSON.stringify(pair)}`);
      }
      return { start, end };
    });
    refuseOverlap(parsed, file, source);
    labels.set(file, parsed);
  }
  return labels;
}

/** A row in two windows would be scored twice; the scorer relies on every row having at most one. */
function refuseOverlap(windows: readonly NabWindow[], file: string, source: string): void {
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  for (let k = 1; k < sorted.length; k++) {
    const [previous, next] = [sorted[k - 1]!, sorted[k]!];
    if (next.start <= previous.end) {
      const iso = (ms: number) => new Date(ms).toISOString();
      throw new Error(`${source}: windows of "${file}" overlap: one ends ${iso(previous.end)}, the next starts ${iso(next.start)}`);
    }
  }
}

/**
 * The label key of a data file: the key its path ends with ("…/realKnownCause/nyc_taxi.csv" →
 * "realKnownCause/nyc_taxi.csv"), else the one key with the same file name. Undefined when none or
 * several match.
 */
export function nabLabelKey(labels: NabLabels, path: string): string | undefined {
  const normalised = path.replaceAll('\\', '/');
  const bySuffix = [...labels.keys()].filter((key) => normalised === key || normalised.endsWith(`/${key}`));
  if (bySuffix.length === 1) return bySuffix[0];
  const name = normalised.split('/').pop();
  const byName = [...labels.keys()].filter((key) => key.split('/').pop() === name);
  return byName.length === 1 ? byName[0] : undefined;
}
