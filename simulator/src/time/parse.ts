// Parsing of the human forms used in flags and config files: durations ("90s", "1h30m", "2d"),
// rates ("1e6/h", "200k/s", "max"), speed factors ("60", "max") and ISO-8601 instants.
// Each parser returns a value or throws a RangeError whose message says what form was expected.

import { parseDuration as parseConfigDuration } from '@pdm/config';

/** "1h30m" → 5 400 000, in the one duration syntax of every flag and config file; a bare number is seconds here. */
export function parseDuration(text: string): number {
  return parseConfigDuration(text, { bareUnit: 's' });
}

const PER_UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
const SI_SUFFIX: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6 };
const RATE = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKM]?)\/(s|min|m|h)$/;

/** Events per second from "1e6/h", "200k/s", "5000/min"; `max` (no limit) is Infinity. */
export function parseRate(text: string): number {
  const trimmed = text.trim();
  if (trimmed === 'max') return Number.POSITIVE_INFINITY;
  const match = RATE.exec(trimmed);
  if (match) {
    const count = Number(match[1]) * (SI_SUFFIX[match[2] ?? ''] ?? 1);
    const perMs = PER_UNIT_MS[match[3] ?? ''] ?? Number.NaN;
    if (count > 0) return (count * 1000) / perMs;
  }
  throw new RangeError(`expected a rate like 1e6/h, 200k/s or max, got "${text}"`);
}

/** Virtual-to-real speed factor: a positive number, or `max` (as fast as possible) as Infinity. */
export function parseSpeed(text: string): number {
  const trimmed = text.trim();
  if (trimmed === 'max' || trimmed === 'inf' || trimmed === 'infinity') return Number.POSITIVE_INFINITY;
  const value = Number(trimmed);
  if (trimmed !== '' && Number.isFinite(value) && value > 0) return value;
  throw new RangeError(`expected a positive number or max, got "${text}"`);
}

/** Epoch ms from an ISO-8601 instant with an explicit zone ("2024-01-01T00:00:00Z"). */
export function parseInstant(text: string): number {
  const ms = /(Z|[+-]\d\d:?\d\d)$/.test(text.trim()) ? Date.parse(text) : Number.NaN;
  if (Number.isFinite(ms)) return ms;
  throw new RangeError(`expected an ISO-8601 time with a zone like 2024-01-01T00:00:00Z, got "${text}"`);
}

/** ISO-8601 UTC with milliseconds, the one time format of every file the simulator writes. */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}
