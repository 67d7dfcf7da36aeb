// Timestamps of the labelled recordings and of scores.csv, read with the same rules as `pdm train`
// and `pdm score` read their input (edge-gateway's replay): epoch seconds (below 1e11) or
// milliseconds, or ISO-8601 with a space or a "T", an optional fraction (NAB's label windows carry
// microseconds) and an optional zone, where no zone means UTC. A row must land in the window the
// replay put it in, so the two readers must agree; this package depends on nothing of ours, hence
// its own copy of the rules. Date.parse is not used: it reads a zone-less time as local time.

/** Column names taken as the time column when none is given, in order of preference (case-insensitive). */
export const TIME_COLUMN_NAMES = ['time', 'timestamp', 'ts', 'date', 'datetime'] as const;

const SECONDS_BELOW = 1e11;
const EPOCH = /^[+-]?\d+(?:\.\d+)?$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Epoch milliseconds, or undefined when the text is not a timestamp (or names an impossible date). */
export function parseTimestamp(text: string): number | undefined {
  const cell = text.trim();
  if (EPOCH.test(cell)) {
    const n = Number(cell);
    return Math.abs(n) < SECONDS_BELOW ? n * 1000 : n;
  }
  const m = ISO.exec(cell);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((p) => Number(p ?? 0)) as [
    number, number, number, number, number, number,
  ];
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2024-02-30 over into March; a round trip exposes impossible dates and times.
  const back = new Date(utc);
  const same =
    back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day &&
    back.getUTCHours() === hour && back.getUTCMinutes() === minute && back.getUTCSeconds() === second;
  if (!same) return undefined;
  const fractionMs = m[7] === undefined ? 0 : Number(m[7]) * 1000;
  return utc + fractionMs - zoneOffsetMs(m[8]);
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + (digits.length > 2 ? Number(digits.slice(2)) : 0)) * 60_000;
}
