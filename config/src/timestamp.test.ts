import { describe, expect, it } from 'vitest';
import { findTimeColumn, parseTimestamp } from './timestamp.js';

describe('parseTimestamp', () => {
  it.each([
    ['2024-03-01T12:00:00Z', Date.UTC(2024, 2, 1, 12)],
    ['2024-03-01T12:00:00', Date.UTC(2024, 2, 1, 12)], // no zone: UTC
    ['2024-03-01 12:00:00.250', Date.UTC(2024, 2, 1, 12, 0, 0, 250)],
    ['2024-03-01T14:00:00+02:00', Date.UTC(2024, 2, 1, 12)],
    ['2024-03-01T07:30-0430', Date.UTC(2024, 2, 1, 12)],
    ['2024-03-01', Date.UTC(2024, 2, 1)],
    ['1709294400', Date.UTC(2024, 2, 1, 12)], // epoch seconds
    ['1709294400.5', Date.UTC(2024, 2, 1, 12) + 500],
    ['1709294400000', Date.UTC(2024, 2, 1, 12)], // epoch milliseconds
  ])('%s', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });

  it.each(['', 'yesterday', '2024-02-30T00:00:00', '2024-03-01T25:00:00', '12:00', '0x10'])('rejects "%s"', (text) => {
    expect(parseTimestamp(text)).toBeNull();
  });
});

describe('findTimeColumn', () => {
  it('takes the named column, else the first conventional time name, else none', () => {
    expect(findTimeColumn(['value', 'Datetime', 'ts'])).toBe(1);
    expect(findTimeColumn(['value', 'when'], 'when')).toBe(1);
    expect(findTimeColumn(['value', 'when'])).toBe(-1);
  });
});

describe('parseTimestamp on the public benchmarks\' formats', () => {
  it('reads them as UTC when they carry no zone', () => {
    expect(parseTimestamp('2020-03-01 15:44:06')).toBe(Date.UTC(2020, 2, 1, 15, 44, 6)); // SKAB
    expect(parseTimestamp('2014-04-10 07:15:00.000000')).toBe(Date.UTC(2014, 3, 10, 7, 15)); // NAB labels
    expect(parseTimestamp('2024-01-01T00:00:10.000Z')).toBe(Date.UTC(2024, 0, 1, 0, 0, 10)); // scores.csv
    expect(parseTimestamp('2024-01-01 24:00:00')).toBeNull();
  });
});
