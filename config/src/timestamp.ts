// The one timestamp syntax of CSV inputs and time flags: `pdm train`/`score`/`replay` windows and
// the detection benchmarks' labels must agree on which row falls in which window.
/** Column names taken as the time column when none is given, in order of preference (case-insensitive). */
export const TIME_COLUMN_NAMES = ['time', 'timestamp', 'ts', 'date', 'datetime'] as const;

/** Epoch numbers below this are seconds (1e11 s is the year 5138; 1e11 ms is 1973). */
const SECONDS_BELOW = 1e11;

const EPOCH_NUMBER = /^[+-]?\d+(?:\.\d+)?$/;
// YYYY-MM-DD, optionally THH:MM[:SS[.fff]] (T or a space), optionally Z or ±HH[:]MM or ±HH.
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The header's columns named like a time column (TIME_COLUMN_NAMES, case-insensitive), in the order of that list. */
function timeColumnCandidates(header: readonly string[]): number[] {
  const lower = header.map((h) => h.trim().toLowerCase());
  return TIME_COLUMN_NAMES.map((name) => lower.indexOf(name)).filter((i) => i >= 0);
}

/**
 * Whether the header's time columns leave the choice to guesswork: a date column beside another one
 * (Date,Time; Date,DateTime) may hold only the day, and read as the time it would put a whole day's
 * rows at midnight without an error.
 */
function ambiguous(candidates: readonly number[], header: readonly string[]): boolean {
  return candidates.length > 1 && candidates.some((i) => header[i]?.trim().toLowerCase() === 'date');
}

/**
 * The index of the time column: the named one, else the header's column whose name comes first in
 * TIME_COLUMN_NAMES. -1 when there is none, and when a date column stands beside another time
 * column (see noTimeColumnReason).
 */
export function findTimeColumn(header: readonly string[], name?: string): number {
  if (name !== undefined) return header.indexOf(name);
  const candidates = timeColumnCandidates(header);
  return ambiguous(candidates, header) ? -1 : (candidates[0] ?? -1);
}

/** Why findTimeColumn found no time column in `header`, for the error that refuses it. */
export function noTimeColumnReason(header: readonly string[], name?: string): string {
  if (name !== undefined) return `no time column: the header has no column "${name}"`;
  const candidates = timeColumnCandidates(header);
  if (ambiguous(candidates, header)) {
    const names = candidates.sort((a, b) => a - b).map((i) => `"${header[i]?.trim()}"`).join(', ');
    return `several time columns (${names}), one a date that may hold only the day: name the time column with --time-column`;
  }
  return `no time column: the header has no column named ${TIME_COLUMN_NAMES.join('/')}`;
}

/**
 * Parses a time cell to epoch milliseconds: an epoch number (seconds below 1e11, else milliseconds)
 * or ISO-8601, where a time without a zone is UTC (never the replaying machine's local zone, so a
 * replay gives the same windows everywhere). Returns null when the cell is neither, and when it names
 * a date, time or zone offset that cannot be (2024-02-30, 25:00, +99:99, +15:00).
 */
export function parseTimestamp(text: string): number | null {
  const cell = text.trim();
  if (EPOCH_NUMBER.test(cell)) {
    const n = Number(cell);
    return Math.abs(n) < SECONDS_BELOW ? n * 1000 : n;
  }
  const m = ISO_8601.exec(cell);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((p) => Number(p ?? 0)) as [
    number, number, number, number, number, number,
  ];
  const fractionMs = m[7] === undefined ? 0 : Number(m[7]) * 1000;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2024-02-30 over into March: a round trip exposes impossible dates and times.
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day ||
    check.getUTCHours() !== hour || check.getUTCMinutes() !== minute || check.getUTCSeconds() !== second
  ) {
    return null;
  }
  const offset = zoneOffsetMs(m[8]);
  return offset === null ? null : utc + fractionMs - offset;
}

/** No zone on Earth is further from UTC than 14 hours (Line Islands, +14:00). */
const MAX_OFFSET_MINUTES = 14 * 60;

/** The zone's offset from UTC in ms; null for one no clock shows (+99:99 would shift a row by four days). */
function zoneOffsetMs(zone: string | undefined): number | null {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  const total = hours * 60 + minutes;
  if (minutes >= 60 || total > MAX_OFFSET_MINUTES) return null;
  return sign * total * 60_000;
}
