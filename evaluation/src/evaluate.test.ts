import { describe, expect, it } from 'vitest';
import { evaluateNab, evaluateSkab } from './evaluate.js';
import { renderNab, renderSkab } from './report.js';

const HEADER = 'window_start,window_end,machine,score,threshold,anomaly';
const iso = (ms: number) => new Date(ms).toISOString();
const t0 = Date.UTC(2020, 2, 1);

/** A SKAB-like recording at 1 Hz: `rows` rows, labelled anomalous from row `faultFrom` on. */
function skabCsv(rows: number, faultFrom: number): string {
  const lines = ['datetime;Current;anomaly;changepoint'];
  for (let i = 0; i < rows; i++) lines.push(`${iso(t0 + i * 1000).replace('T', ' ').slice(0, 19)};1.5;${i >= faultFrom ? '1.0' : '0.0'};0.0`);
  return lines.join('\n');
}

/** 10-second windows over [from, until) seconds, anomalous from second `alarmFrom` on. */
function scores(from: number, until: number, alarmFrom: number, machine = 'rig'): string {
  const lines = [HEADER];
  for (let s = from; s < until; s += 10) lines.push(`${iso(t0 + s * 1000)},${iso(t0 + (s + 10) * 1000)},${machine},0.5,1,${s >= alarmFrom ? 1 : 0}`);
  return lines.join('\n');
}

describe('evaluateSkab', () => {
  it('judges only rows after the first 400, each by the window holding it', () => {
    // 500 rows, fault from row 450; windows cover seconds 400..489 only, alarm from second 460.
    // test rows 400..499: labelled 450..499 (50). Alarmed rows 460..489 (30): TP 30.
    // Rows 450..459 labelled, not alarmed: FN 10; rows 490..499 in no window: FN 10, undecided 10.
    // Rows 400..449: normal, decided normal: TN 50.
    const result = evaluateSkab(skabCsv(500, 450), '1.csv', { text: scores(400, 490, 460), source: 's.csv' });
    expect(result).toEqual({ tp: 30, fp: 0, fn: 20, tn: 50, rows: 100, anomalous: 50, undecided: 10 });
  });

  it('takes a detector without scores as deciding nothing', () => {
    expect(evaluateSkab(skabCsv(410, 405), '1.csv', undefined)).toEqual({ tp: 0, fp: 0, fn: 5, tn: 5, rows: 10, anomalous: 5, undecided: 10 });
  });

  it('prints per file, total and the baselines measured on the same rows', () => {
    const result = evaluateSkab(skabCsv(500, 450), '1.csv', { text: scores(400, 490, 460), source: 's.csv' });
    const text = renderSkab([{ file: 'other/1.csv', result }, { file: 'other/2.csv', result: evaluateSkab(skabCsv(410, 405), '2.csv', undefined), note: 'training failed' }]).join('\n');
    // total TP 30 FP 0 FN 25 TN 55: F1 = 30 / (30 + 25/2) = 0.706, FAR 0 %, MAR = 25/55 = 45.5 %
    expect(text).toContain('total over 2 files: F1 0.706 · FAR 0.0 % · MAR 45.5 %');
    // always anomalous: TP 55, FP 55: F1 = 55 / (55 + 55/2) = 0.667
    expect(text).toMatch(/always anomalous\s+55\s+55\s+0\s+0\s+0\.667\s+100\.0 %\s+0\.0 %/);
    expect(text).toMatch(/null \(never anomalous\)\s+0\s+0\s+55\s+55\s+0\.000\s+0\.0 %\s+100\.0 %/);
    expect(text).toContain('rows without a decision: 20 of 110 test rows lie in no scored window and count as normal');
    expect(text).toContain('other/2.csv: training failed');
  });
});

describe('evaluateNab', () => {
  // 100 rows a minute apart: probation floor(15) = 15 rows; one window rows 60..69.
  const series = ['timestamp,value', ...Array.from({ length: 100 }, (_, i) => `${iso(t0 + i * 60_000).replace('T', ' ').slice(0, 19)},${i}`)].join('\n');
  const windows = [{ start: t0 + 60 * 60_000, end: t0 + 69 * 60_000 }];
  const oneMinuteScores = (alarmRows: number[]) =>
    [HEADER, ...Array.from({ length: 85 }, (_, k) => k + 15).map((i) => `${iso(t0 + i * 60_000)},${iso(t0 + (i + 1) * 60_000)},taxi,0,1,${alarmRows.includes(i) ? 1 : 0}`)].join('\n');

  it('scores the rows after probation under the three profiles', () => {
    // alarm at row 60, the window's first row: tpWeight on every profile
    const result = evaluateNab(series, 'taxi.csv', windows, { text: oneMinuteScores([60]), source: 's.csv' });
    expect(result).toMatchObject({ rows: 100, probationRows: 15, undecided: 0 });
    expect(result.scores.standard.score).toBeCloseTo(1, 12);
    expect(result.scores.reward_low_FN_rate.score).toBeCloseTo(1, 12);
    const text = renderNab([{ file: 'realKnownCause/taxi.csv', result }]).join('\n');
    expect(text).toMatch(/standard\s+1\.000\s+-1\.000\s+1\.000\s+100\.0/);
    expect(text).toMatch(/reward_low_FN_rate\s+1\.000\s+-2\.000\s+1\.000\s+100\.0/);
  });

  it('takes the windows that opened an alert as the detections when the scores say which ones did', () => {
    // Rows 30–75 all anomalous (one long alarm), the alert opened at row 61 and resolved at 76. Every
    // anomalous window would be 30 false-positive rows before the labelled window; the opening is one
    // detection inside it.
    const rows = Array.from({ length: 85 }, (_, k) => k + 15);
    const window = (i: number) => `${iso(t0 + i * 60_000)},${iso(t0 + (i + 1) * 60_000)},taxi`;
    const text = [HEADER, ...rows.map((i) => `${window(i)},0,1,${i >= 30 && i <= 75 ? 1 : 0}`)].join('\n');
    const alerts = { text: ['window_start,window_end,machine,alert', `${window(61)},open`, `${window(76)},resolved`].join('\n'), source: 's.alerts.csv' };
    const result = evaluateNab(series, 'taxi.csv', windows, { text, source: 's.csv', alerts });
    expect(result.decidedBy).toBe('alert openings');
    expect(result.scores.standard.fp).toBe(0);
    expect(result.scores.standard.detectedWindows).toBe(1);
    const everyWindow = evaluateNab(series, 'taxi.csv', windows, { text, source: 's.csv' });
    expect(everyWindow.decidedBy).toBe('anomalous windows');
    expect(everyWindow.scores.standard.fp).toBeGreaterThan(0);
    expect(renderNab([{ file: 'taxi.csv', result }]).join('\n')).toContain('detections: the windows that opened an alert (the alerts beside each scores.csv)');
    expect(renderNab([{ file: 'taxi.csv', result }, { file: 'other.csv', result: everyWindow }]).join('\n')).toContain(
      'detections: the windows that opened an alert in 1 file; every anomalous window in 1 whose scores come without alerts',
    );
  });

  it('marks only the last row of the window that opened an alert: the earlier ones were not known to be anomalous yet', () => {
    // Two-minute windows over one-minute rows: the opening window [60, 62) holds rows 60 and 61.
    const twoMinutes = [
      `${HEADER},alert`,
      ...Array.from({ length: 42 }, (_, k) => 16 + 2 * k).map((i) => `${iso(t0 + i * 60_000)},${iso(t0 + (i + 2) * 60_000)},taxi,0,1,${i === 60 ? 1 : 0},${i === 60 ? 'open' : ''}`),
    ].join('\n');
    const result = evaluateNab(series, 'taxi.csv', windows, { text: twoMinutes, source: 's.csv' });
    // NAB rewards the first detection by its position in the window [60, 69]: row 61, not row 60.
    const atRow = (row: number) => evaluateNab(series, 'taxi.csv', windows, { text: oneMinuteScores([row]), source: 's.csv' }).scores.standard.score;
    expect(result.scores.standard.score).toBeCloseTo(atRow(61), 12);
    expect(result.scores.standard.score).not.toBeCloseTo(atRow(60), 6);
  });

  it('counts scored rows no window holds', () => {
    const result = evaluateNab(series, 'taxi.csv', windows, undefined);
    expect(result.undecided).toBe(85);
    expect(result.scores.standard.score).toBe(-1);
    expect(renderNab([{ file: 'taxi.csv', result }]).join('\n')).toContain('rows without a decision: 85 of 85 scored rows');
  });
});
