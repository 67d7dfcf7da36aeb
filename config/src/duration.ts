// The one duration syntax of flags and config files: "500ms", "10s", "1.5m", "1h30m", "2d", "1w".
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|min|m|h|d|w)/y;
const BARE_NUMBER = /^\d+(?:\.\d+)?$/;

export interface DurationOptions {
  /**
   * What a number without a unit means. Default: refused, since a bare `10` could mean seconds or
   * milliseconds and guessing wrong is a 1000× error; config files pass 'ms' (their keys are named
   * …Ms), and flags that always took seconds pass 's'.
   */
  bareUnit?: 'ms' | 's';
}

/** Parses a duration into milliseconds, or throws a RangeError that shows the expected form. */
export function parseDuration(text: string, options: DurationOptions = {}): number {
  const trimmed = text.trim();
  if (BARE_NUMBER.test(trimmed) && options.bareUnit) return Number(trimmed) * UNIT_MS[options.bareUnit]!;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < trimmed.length) {
    const match = PART.exec(trimmed);
    if (!match) break;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    if (PART.lastIndex === trimmed.length) return total;
  }
  const bare = options.bareUnit ? `, or a number of ${options.bareUnit === 'ms' ? 'milliseconds' : 'seconds'}` : '';
  throw new RangeError(`invalid duration "${text}": expected a number with a unit (ms, s, m, h, d, w), e.g. 500ms, 10s, 1h30m or 2d${bare}`);
}

/**
 * A config key that is a duration: a number of milliseconds (as every `…Ms` key always took) or a
 * string with a unit such as "10s". Validation errors name the key like every other config error.
 */
export function durationMs() {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    if (typeof value === 'number') return value;
    try {
      return parseDuration(value, { bareUnit: 'ms' });
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}

/** The log level key both services share. */
export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
