/** The latest time (and, negated, the earliest) an ECMAScript Date holds: beyond, toISOString() throws. */
export const MAX_DATE_MS = 8.64e15;

/**
 * A time as ISO-8601 UTC; one no Date holds (a value stored before it was checked, a corrupt one) as its
 * number, so a message or a listing that shows it still shows something instead of throwing.
 */
export function isoTime(ms: number): string {
  return Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : `${ms} ms since 1970`;
}
