const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/**
 * Parses a duration such as `500ms`, `10s`, `1.5m` or `1h` into whole milliseconds. The unit is
 * required: a bare `10` could mean seconds or milliseconds, and guessing wrong is a 1000× error.
 */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (match === null) {
    throw new Error(`invalid duration "${text}": expected a number with a unit ms, s, m or h, e.g. 10s or 500ms`);
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new Error(`invalid duration "${text}": must be a positive whole number of milliseconds`);
  }
  return ms;
}
