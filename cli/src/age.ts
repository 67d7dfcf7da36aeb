// Times as `pdm status`, `pdm alerts` and `pdm models` print them, and how long ago they were.
import { isoTime } from '@pdm/clock';

/** 45s, 12m, 3h, 2d: how long ago, at a glance. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7_200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3_600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/**
 * A time in UTC to the second (milliseconds when it has them); one no Date holds (a mute stored before
 * such ends were refused) as its number, so a listing still shows it instead of failing.
 */
export function utc(ms: number): string {
  return isoTime(ms).replace('.000Z', 'Z');
}
