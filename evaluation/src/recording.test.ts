import { describe, expect, it } from 'vitest';
import { readRecording, splitRecording } from './recording.js';

const skabLike = [
  'datetime;Current;Pressure;anomaly;changepoint',
  '2020-03-01 15:44:06;1.2;0.05;0.0;0.0',
  '2020-03-01 15:44:07;1.1;0.06;0.0;0.0',
  '2020-03-01 15:44:08;1.9;0.30;1.0;1.0',
  '2020-03-01 15:44:09;2.0;0.31;1.0;0.0',
].join('\n');

describe('readRecording', () => {
  it('finds the time column and the labels of a ;-separated SKAB file', () => {
    const recording = readRecording(skabLike, '1.csv', { labelColumn: 'anomaly' });
    expect(recording.timestamps).toEqual([0, 1, 2, 3].map((s) => Date.UTC(2020, 2, 1, 15, 44, 6 + s)));
    expect([...recording.labels!]).toEqual([0, 0, 1, 1]);
  });

  it('names the line of a bad row', () => {
    expect(() => readRecording(`${skabLike}\nlater;1;1;0;0`, '1.csv')).toThrow('1.csv line 6: "later" is not a timestamp');
    expect(() => readRecording(`${skabLike}\n2020-03-01 15:44:10;1;1;0.5;0`, '1.csv', { labelColumn: 'anomaly' })).toThrow(
      '1.csv line 6: anomaly must be 0 or 1, got "0.5"',
    );
    // An empty label is no label, not a normal row.
    expect(() => readRecording(`${skabLike}\n2020-03-01 15:44:10;1;1;;0`, '1.csv', { labelColumn: 'anomaly' })).toThrow('1.csv line 6: anomaly must be 0 or 1, got ""');
    expect(() => readRecording(`${skabLike}\n2020-03-01 15:44:10;1;1`, '1.csv')).toThrow('1.csv line 6: 3 fields, the header has 5');
    expect(() => readRecording('when,value\n1,2', 'x.csv')).toThrow(/no time column/);
    // A date beside a time column may hold only the day: the same refusal as the replay's, not "no time column".
    expect(() => readRecording('Date,Time,value\n2020-03-01,15:44:06,2', 'x.csv')).toThrow(/x\.csv line 1: several time columns \("Date", "Time"\).*--time-column/);
    expect(() => readRecording(skabLike, '1.csv', { labelColumn: 'label' })).toThrow(/no label column "label"/);
  });

  it('refuses rows out of time order at their line in the file, and takes a repeated time', () => {
    // data row 3 is line 4: the header is line 1
    const series = 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:10:00,2\n2014-04-01 00:05:00,3\n';
    expect(() => readRecording(series, 'nab/x.csv')).toThrow('nab/x.csv line 4: rows must be in time order: "2014-04-01 00:05:00" is before line 3\'s "2014-04-01 00:10:00"');
    // NAB's files repeat a time where clocks went back
    expect(readRecording('timestamp,value\n2014-11-02 01:00:00,1\n2014-11-02 01:00:00,2\n', 'x.csv').timestamps).toEqual([Date.UTC(2014, 10, 2, 1), Date.UTC(2014, 10, 2, 1)]);
  });
});

describe('splitRecording', () => {
  it('cuts the first rows for training and keeps the labels away from both parts', () => {
    const { train, test } = splitRecording(skabLike, '1.csv', 2, ['anomaly', 'changepoint']);
    expect(train).toBe('datetime;Current;Pressure\n2020-03-01 15:44:06;1.2;0.05\n2020-03-01 15:44:07;1.1;0.06\n');
    expect(test).toBe('datetime;Current;Pressure\n2020-03-01 15:44:08;1.9;0.30\n2020-03-01 15:44:09;2.0;0.31\n');
  });
});
