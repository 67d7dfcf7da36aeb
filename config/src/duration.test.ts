import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { durationMs, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads every unit and compound forms', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('10min')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration(' 2d ')).toBe(172_800_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
  });

  it('refuses a bare number unless the caller says what it means', () => {
    expect(() => parseDuration('10')).toThrow(/invalid duration "10": expected a number with a unit/);
    expect(parseDuration('10', { bareUnit: 's' })).toBe(10_000);
    expect(parseDuration('250', { bareUnit: 'ms' })).toBe(250);
  });

  it('refuses what is not a duration, saying the expected form', () => {
    for (const bad of ['', 'ten seconds', '10x', '5s garbage', '-1s', 's']) {
      expect(() => parseDuration(bad), bad).toThrow(/expected a number with a unit/);
    }
  });
});

describe('durationMs (config keys)', () => {
  const schema = z.object({ windowMs: durationMs() });

  it('takes milliseconds as numbers and durations as strings', () => {
    expect(schema.parse({ windowMs: 10_000 }).windowMs).toBe(10_000);
    expect(schema.parse({ windowMs: '10s' }).windowMs).toBe(10_000);
    expect(schema.parse({ windowMs: '250' }).windowMs).toBe(250);
  });

  it('names the key of a bad duration', () => {
    const result = schema.safeParse({ windowMs: '10 parsecs' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['windowMs']);
    expect(result.error?.issues[0]?.message).toMatch(/invalid duration "10 parsecs"/);
  });
});
