import { describe, expect, it } from 'vitest';
import { findTimeColumn, noTimeColumnReason, parseTimestamp } from './timestamp.js';

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
    // the furthest zones from UTC there are: Line Islands +14:00, Baker Island −12:00
    ['2024-03-02T02:00:00+14:00', Date.UTC(2024, 2, 1, 12)],
    ['2024-03-01T00:00:00-12:00', Date.UTC(2024, 2, 1, 12)],
  ])('%s', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });

  it.each(['', 'yesterday', '2024-02-30T00:00:00', '2024-03-01T25:00:00', '12:00', '0x10'])('rejects "%s"', (text) => {
    expect(parseTimestamp(text)).toBeNull();
  });

  // No clock shows these offsets: read as given they would move the row by up to four days.
  it.each(['2024-03-01T12:00:00+99:99', '2024-03-01T12:00:00+15:00', '2024-03-01T12:00:00-14:30', '2024-03-01T12:00:00+02:60', '2024-03-01T12:00:00+0275'])(
    'rejects the impossible zone offset of "%s"',
    (text) => {
      expect(parseTimestamp(text)).toBeNull();
    },
  );
});

describe('findTimeColumn', () => {
  it('takes the named column, else the conventional time name, else none', () => {
    expect(findTimeColumn(['value', 'Datetime'])).toBe(1);
    expect(findTimeColumn(['value', 'when'], 'when')).toBe(1);
    expect(findTimeColumn(['value', 'when'])).toBe(-1);
  });

  it('prefers the names in their documented order, not the header\'s', () => {
    expect(findTimeColumn(['ts', 'Timestamp', 'value'])).toBe(1);
    expect(findTimeColumn(['datetime', 'value', 'TIME'])).toBe(2);
  });

  it('refuses to guess when a date column stands beside another time column, and says so', () => {
    for (const header of [['Date', 'Time', 'temp'], ['date', 'datetime', 'temp'], ['temp', 'timestamp', 'date']]) {
      expect(findTimeColumn(header)).toBe(-1);
      expect(findTimeColumn(header, header[1])).toBe(1);
    }
    expect(noTimeColumnReason(['Date', 'Time', 'temp'])).toBe(
      'several time columns ("Date", "Time"), one a date that may hold only the day: name the time column with --time-column',
    );
    expect(noTimeColumnReason(['value'])).toBe('no time column: the header has no column named time/timestamp/ts/date/datetime');
    expect(noTimeColumnReason(['value'], 'when')).toBe('no time column: the header has no column "when"');
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
