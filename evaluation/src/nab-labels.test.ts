import { describe, expect, it } from 'vitest';
import { nabLabelKey, parseNabLabels } from './nab-labels.js';

const document = {
  'realKnownCause/nyc_taxi.csv': [['2014-11-01 19:00:00.000000', '2014-11-02 12:30:00.000000']],
  'artificialNoAnomaly/art_flatline.csv': [],
  'realTweets/Twitter_volume_FB.csv': [],
};

describe('NAB labels', () => {
  it('reads combined_windows.json', () => {
    const labels = parseNabLabels(document);
    expect(labels.get('realKnownCause/nyc_taxi.csv')).toEqual([{ start: Date.UTC(2014, 10, 1, 19), end: Date.UTC(2014, 10, 2, 12, 30) }]);
    expect(labels.get('artificialNoAnomaly/art_flatline.csv')).toEqual([]);
  });

  it('refuses windows that are not [start, end] in order', () => {
    expect(() => parseNabLabels({ 'a/b.csv': [['2014-11-02 00:00:00', '2014-11-01 00:00:00']] })).toThrow(/window 1 of "a\/b.csv"/);
    expect(() => parseNabLabels([])).toThrow(/expected an object/);
  });

  it('refuses windows of one file that overlap, naming the labels and the file', () => {
    const overlapping = { 'a/b.csv': [['2014-11-03 00:00:00', '2014-11-04 00:00:00'], ['2014-11-01 00:00:00', '2014-11-03 00:00:00']] };
    expect(() => parseNabLabels(overlapping, 'labels.json')).toThrow(
      'labels.json: windows of "a/b.csv" overlap: one ends 2014-11-03T00:00:00.000Z, the next starts 2014-11-03T00:00:00.000Z',
    );
  });

  it('finds a data file by the end of its path, else by its name when that is unique', () => {
    const labels = parseNabLabels(document);
    expect(nabLabelKey(labels, '/data/nab/data/realKnownCause/nyc_taxi.csv')).toBe('realKnownCause/nyc_taxi.csv');
    expect(nabLabelKey(labels, 'nyc_taxi.csv')).toBe('realKnownCause/nyc_taxi.csv');
    expect(nabLabelKey(labels, 'elsewhere/Twitter_volume_FB.csv')).toBe('realTweets/Twitter_volume_FB.csv');
    expect(nabLabelKey(labels, 'unknown.csv')).toBeUndefined();
  });
});
