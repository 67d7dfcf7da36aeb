import { describe, expect, it } from 'vitest';
import { formatInstant, parseDuration, parseInstant, parseRate, parseSpeed } from './parse.js';

describe('time and rate parsing', () => {
  it('parses durations with units, combined parts and bare seconds', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('15')).toBe(15_000);
    expect(() => parseDuration('ten minutes')).toThrow(/invalid duration "ten minutes": expected a number with a unit/);
    expect(() => parseDuration('10x')).toThrow(/invalid duration "10x"/);
  });

  it('parses rates to events per second', () => {
    expect(parseRate('1e6/h')).toBeCloseTo(1e6 / 3600, 9);
    expect(parseRate('200k/s')).toBe(200_000);
    expect(parseRate('6000/min')).toBe(100);
    expect(parseRate('max')).toBe(Infinity);
    expect(() => parseRate('fast')).toThrow(/expected a rate like 1e6\/h/);
  });

  it('parses speeds and instants, and formats ISO with milliseconds', () => {
    expect(parseSpeed('60')).toBe(60);
    expect(parseSpeed('max')).toBe(Infinity);
    expect(() => parseSpeed('0')).toThrow(/positive number or max/);
    expect(parseInstant('2024-01-01T00:00:00Z')).toBe(Date.UTC(2024, 0, 1));
    expect(() => parseInstant('2024-01-01 00:00')).toThrow(/with a zone/);
    expect(formatInstant(Date.UTC(2024, 0, 1, 0, 0, 1, 5))).toBe('2024-01-01T00:00:01.005Z');
  });
});
