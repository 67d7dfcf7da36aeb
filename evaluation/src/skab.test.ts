import { describe, expect, it } from 'vitest';
import { readRecording } from './recording.js';
import { decideRows } from './row-decisions.js';
import { SKAB_TRAIN_ROWS, skabBaselines, skabFile, skabMetrics, sumSkab } from './skab.js';

const bits = (text: string) => Uint8Array.from(text, (c) => Number(c));

describe('SKAB pointwise protocol', () => {
  it('counts only the rows after the training split', () => {
    expect(SKAB_TRAIN_ROWS).toBe(400);
    // train rows 0..1; test rows 2..9
    // labels      0 0 | 0 0 1 1 1 1 0 0
    // anomalous   1 1 | 0 1 1 1 0 0 0 1
    // → TP rows 4, 5 = 2; FP rows 3, 9 = 2; FN rows 6, 7 = 2; TN rows 2, 8 = 2
    const result = skabFile(bits('0000111100'), bits('1101110001'), bits('1111111100'), 2);
    expect(result).toEqual({ tp: 2, fp: 2, fn: 2, tn: 2, rows: 8, anomalous: 4, undecided: 2 });
  });

  it('computes F1 = TP / (TP + (FP + FN)/2), FAR = FP / (FP + TN), MAR = FN / (FN + TP)', () => {
    // TP 6, FP 2, FN 3, TN 9: F1 = 6 / (6 + 5/2) = 0.705882; FAR = 2/11 = 0.181818; MAR = 3/9 = 0.333333
    const metrics = skabMetrics({ tp: 6, fp: 2, fn: 3, tn: 9 });
    expect(metrics.f1).toBeCloseTo(0.705882, 6);
    expect(metrics.far).toBeCloseTo(0.181818, 6);
    expect(metrics.mar).toBeCloseTo(0.333333, 6);
  });

  it('sums files before taking the metrics, and measures the never/always baselines on the same rows', () => {
    const a = { tp: 2, fp: 1, fn: 0, tn: 5, rows: 8, anomalous: 2, undecided: 0 };
    const b = { tp: 0, fp: 0, fn: 4, tn: 4, rows: 8, anomalous: 4, undecided: 8 };
    const total = sumSkab([a, b]);
    expect(total).toEqual({ tp: 2, fp: 1, fn: 4, tn: 9, rows: 16, anomalous: 6, undecided: 8 });
    // F1 = 2 / (2 + 5/2) = 0.444444
    expect(skabMetrics(total).f1).toBeCloseTo(0.444444, 6);
    const { never, always } = skabBaselines(total);
    // never: F1 = 0 / (0 + 6/2) = 0, FAR 0, MAR 1; always: F1 = 6 / (6 + 10/2) = 0.545455, FAR 1, MAR 0
    expect(skabMetrics(never)).toEqual({ f1: 0, far: 0, mar: 1 });
    expect(skabMetrics(always).f1).toBeCloseTo(0.545455, 6);
    expect(skabMetrics(always)).toMatchObject({ far: 1, mar: 0 });
  });

  it('runs from a recording and scored windows: a row takes the decision of the window holding its timestamp', () => {
    // 1 Hz rows at 0..5 s, the first 2 train; 2-second windows: [2,4) normal, [4,6) anomalous.
    const csv = ['datetime;v;anomaly', ...[0, 0, 0, 1, 1, 1].map((label, s) => `2020-03-01 00:00:0${s};1;${label}`)].join('\n');
    const recording = readRecording(csv, 'r.csv', { labelColumn: 'anomaly' });
    const t0 = Date.UTC(2020, 2, 1);
    const windows = [
      { start: t0 + 2000, end: t0 + 4000, anomaly: false },
      { start: t0 + 4000, end: t0 + 6000, anomaly: true },
    ];
    const { anomalous, decided } = decideRows(recording.timestamps, windows);
    // test rows 2..5: labels 0 1 1 1, decisions 0 0 1 1 → TP 2, FN 1, TN 1
    expect(skabFile(recording.labels!, anomalous, decided, 2)).toEqual({ tp: 2, fp: 0, fn: 1, tn: 1, rows: 4, anomalous: 3, undecided: 0 });
  });
});
