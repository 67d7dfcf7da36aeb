import { describe, expect, it } from 'vitest';
import { parseTimestamp } from './time.js';

describe('parseTimestamp', () => {
  it('reads the benchmark formats as UTC when they carry no zone', () => {
    expect(parseTimestamp('2020-03-01 15:44:06')).toBe(Date.UTC(2020, 2, 1, 15, 44, 6)); // SKAB
    expect(parseTimestamp('2014-04-10 07:15:00.000000')).toBe(Date.UTC(2014, 3, 10, 7, 15)); // NAB labels
    expect(parseTimestamp('2024-01-01T00:00:10.000Z')).toBe(Date.UTC(2024, 0, 1, 0, 0, 10)); // scores.csv
    expect(parseTimestamp('2024-01-01T02:00:00+02:00')).toBe(Date.UTC(2024, 0, 1));
    expect(parseTimestamp('2024-01-01 00:00:00.250')).toBe(Date.UTC(2024, 0, 1) + 250);
  });

  it('reads epoch seconds and milliseconds as the replay does', () => {
    expect(parseTimestamp('1700000000')).toBe(1_700_000_000_000);
    expect(parseTimestamp('1700000000000')).toBe(1_700_000_000_000);
  });

  it('refuses what is not a time, and impossible dates', () => {
    expect(parseTimestamp('yesterday')).toBeUndefined();
    expect(parseTimestamp('2024-02-30 00:00:00')).toBeUndefined();
    expect(parseTimestamp('2024-01-01 24:00:00')).toBeUndefined();
  });
});
