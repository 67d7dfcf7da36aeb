import { describe, expect, it } from 'vitest';
import { alertsFileFor, parseScoresCsv, windowsOfMachine } from './scores-csv.js';

const HEADER = 'window_start,window_end,machine,score,threshold,anomaly';

describe('parseScoresCsv', () => {
  it('reads the windows pdm score writes', () => {
    const text = `${HEADER}\n2024-01-01T00:00:00.000Z,2024-01-01T00:00:10.000Z,pump-1,0.2,1.5,0\n2024-01-01T00:00:10.000Z,2024-01-01T00:00:20.000Z,pump-1,2.5,1.5,1\n`;
    expect(parseScoresCsv(text)).toEqual([
      { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 0, 1, 0, 0, 10), machine: 'pump-1', score: 0.2, threshold: 1.5, anomaly: false },
      { start: Date.UTC(2024, 0, 1, 0, 0, 10), end: Date.UTC(2024, 0, 1, 0, 0, 20), machine: 'pump-1', score: 2.5, threshold: 1.5, anomaly: true },
    ]);
  });

  it('gives each window its transition from the alerts file beside the scores, and the others none', () => {
    const rows = [0, 10, 20, 30].map((s) => `2024-01-01T00:00:${String(s).padStart(2, '0')}Z,2024-01-01T00:00:${String(s + 10).padStart(2, '0')}Z,m,1,1,${s < 20 ? 1 : 0}`);
    const text = [HEADER, ...rows].join('\n');
    const alerts = (...lines: string[]) => ({ text: ['window_start,window_end,machine,alert', ...lines].join('\n'), source: 's.alerts.csv' });
    // Times as another tool may write them (no milliseconds): the same instants.
    const windows = parseScoresCsv(text, 's.csv', alerts('2024-01-01T00:00:10.000Z,2024-01-01T00:00:20.000Z,m,open', '2024-01-01T00:00:30Z,2024-01-01T00:00:40Z,m,resolved'));
    expect(windows.map((w) => w.alert)).toEqual(['', 'open', '', 'resolved']);
    // No alerts file: the windows carry none (detections are then the anomalous windows).
    expect(parseScoresCsv(text, 's.csv').map((w) => w.alert)).toEqual([undefined, undefined, undefined, undefined]);
    // An alerts file that only has its header: scored, nothing alerted.
    expect(parseScoresCsv(text, 's.csv', alerts()).map((w) => w.alert)).toEqual(['', '', '', '']);
  });

  it('refuses an alerts file that does not belong to the scores, naming its line', () => {
    const text = `${HEADER}\n2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,m,2,1,1\n`;
    const alerts = (line: string) => ({ text: `window_start,window_end,machine,alert\n${line}`, source: 's.alerts.csv' });
    expect(() => parseScoresCsv(text, 's.csv', alerts('2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,other,open'))).toThrow(
      's.alerts.csv line 2: no window of other from 2024-01-01T00:00:00.000Z to 2024-01-01T00:00:10.000Z in s.csv',
    );
    expect(() => parseScoresCsv(text, 's.csv', alerts('2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,m,opened'))).toThrow('s.alerts.csv line 2: alert must be open or resolved, got "opened"');
    expect(() => parseScoresCsv(text, 's.csv', { text: 'machine,alert\n', source: 's.alerts.csv' })).toThrow('s.alerts.csv line 1: header lacks window_start, window_end');
  });

  it('refuses alerts that do not follow the alert rule on these scores: written for other scores', () => {
    // Windows 0–10 and 10–20 anomalous, 20–30 normal.
    const text = [HEADER, '2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,m,2,1,1', '2024-01-01T00:00:10Z,2024-01-01T00:00:20Z,m,2,1,1', '2024-01-01T00:00:20Z,2024-01-01T00:00:30Z,m,0,1,0'].join('\n');
    const alerts = (...lines: string[]) => ({ text: ['window_start,window_end,machine,alert', ...lines].join('\n'), source: 's.alerts.csv' });
    // An opening on a normal window.
    expect(() => parseScoresCsv(text, 's.csv', alerts('2024-01-01T00:00:20Z,2024-01-01T00:00:30Z,m,open'))).toThrow(
      's.alerts.csv line 2: open on the window of m from 2024-01-01T00:00:20.000Z to 2024-01-01T00:00:30.000Z, normal in s.csv, does not follow the alert rule: the alerts were written for other scores',
    );
    // Two openings without a resolve between them; a resolve of nothing open.
    expect(() => parseScoresCsv(text, 's.csv', alerts('2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,m,open', '2024-01-01T00:00:10Z,2024-01-01T00:00:20Z,m,open'))).toThrow('s.alerts.csv line 3: open on the window');
    expect(() => parseScoresCsv(text, 's.csv', alerts('2024-01-01T00:00:20Z,2024-01-01T00:00:30Z,m,resolved'))).toThrow('s.alerts.csv line 2: resolved on the window');
  });

  it('puts the alerts file beside the scores', () => {
    expect(alertsFileFor('out/scores.csv')).toBe('out/scores.alerts.csv');
    expect(alertsFileFor('out/SCORES.CSV')).toBe('out/SCORES.alerts.csv');
    expect(alertsFileFor('out/scores')).toBe('out/scores.alerts.csv');
  });

  it('reads the alert column of scores files written before the alerts file', () => {
    const text = `${HEADER},alert\n2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,m,2,1,1,open\n2024-01-01T00:00:10Z,2024-01-01T00:00:20Z,m,0,1,0,\n2024-01-01T00:00:20Z,2024-01-01T00:00:30Z,m,0,1,0,resolved\n`;
    expect(parseScoresCsv(text).map((w) => w.alert)).toEqual(['open', '', 'resolved']);
    expect(() => parseScoresCsv(`${HEADER},alert\n2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,m,2,1,1,opened`, 's.csv')).toThrow('s.csv line 2: alert must be open, resolved or empty, got "opened"');
  });

  it('names the line and the column of a mistake', () => {
    expect(() => parseScoresCsv('start,end\n', 's.csv')).toThrow('s.csv line 1: header lacks window_start, window_end, machine, score, threshold, anomaly');
    expect(() => parseScoresCsv(`${HEADER}\n2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,m,1,1,yes`, 's.csv')).toThrow('s.csv line 2: anomaly must be 0 or 1, got "yes"');
    expect(() => parseScoresCsv(`${HEADER}\n2024-01-01T00:00:10Z,2024-01-01T00:00:00Z,m,1,1,0`, 's.csv')).toThrow('s.csv line 2: window_end must be after window_start');
    expect(() => parseScoresCsv(`${HEADER}\n2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,m,abc,1,0`, 's.csv')).toThrow('s.csv line 2: score "abc" is not a finite decimal number');
  });

  it('compares each row\'s cells with the header before reading them', () => {
    // a short row, not: anomaly must be 0 or 1, got ""
    expect(() => parseScoresCsv(`${HEADER}\n2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,m`, 's.csv')).toThrow('s.csv line 2: 3 cells, the header has 6');
    // a quoted id with a comma shifts every cell after it
    expect(() => parseScoresCsv(`${HEADER}\n2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,"a,b",1,1,0`, 's.csv')).toThrow('s.csv line 2: 7 cells, the header has 6');
  });

  it('takes only finite decimal numbers for score and threshold', () => {
    const row = (score: string, threshold: string) => `${HEADER}\n2024-01-01T00:00:00Z,2024-01-01T00:00:10Z,m,${score},${threshold},0`;
    expect(() => parseScoresCsv(row('Infinity', '1'), 's.csv')).toThrow('s.csv line 2: score "Infinity" is not a finite decimal number');
    expect(() => parseScoresCsv(row('1', '0x10'), 's.csv')).toThrow('s.csv line 2: threshold "0x10" is not a finite decimal number');
    expect(() => parseScoresCsv(row('1e999', '1'), 's.csv')).toThrow('s.csv line 2: score "1e999" is not a finite decimal number');
    expect(parseScoresCsv(row('1.5e-7', '-.5'))[0]).toMatchObject({ score: 1.5e-7, threshold: -0.5 });
  });
});

describe('windowsOfMachine', () => {
  const windows = [
    { start: 0, end: 10, machine: 'a', score: 0, threshold: 1, anomaly: false },
    { start: 0, end: 10, machine: 'b', score: 2, threshold: 1, anomaly: true },
  ];
  it('needs to be told which machine when the file holds several', () => {
    expect(() => windowsOfMachine(windows, undefined, 's.csv')).toThrow('s.csv holds 2 machines (a, b): say which one the labels belong to');
    expect(windowsOfMachine(windows, 'b')).toEqual([windows[1]]);
    expect(() => windowsOfMachine(windows, 'c')).toThrow(/no windows of machine "c"/);
    expect(windowsOfMachine([windows[0]!], undefined)).toEqual([windows[0]]);
  });
});
