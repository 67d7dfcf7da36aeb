import { describe, expect, it } from 'vitest';
import { NAB_PROFILES, nabCorpusScore, nabProbationRows, scaledSigmoid, scoreNabFile } from './nab.js';

const MINUTE = 60_000;
/** Row i is at minute i. */
const minutes = (rows: number) => Array.from({ length: rows }, (_, i) => i * MINUTE);
const rowsWindow = (first: number, last: number) => ({ start: first * MINUTE, end: last * MINUTE });
const detectionsAt = (rows: number, at: number[]) => Uint8Array.from({ length: rows }, (_, i) => (at.includes(i) ? 1 : 0));

describe('NAB scaled sigmoid σ(p) = 2 / (1 + e^(5p)) − 1', () => {
  it('is +0.98661 at the window start, 0 at its end, −0.98661 one width past, −1 from 3 on', () => {
    // σ(−1) = 2 / (1 + e^−5) − 1 = 2 / 1.006737947 − 1 = 0.986614298
    expect(scaledSigmoid(-1)).toBeCloseTo(0.986614298, 9);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.848283640, 9);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.986614298, 9);
    // just below 3 the curve still runs (−0.99999939), from 3 on it is the flat −1
    expect(scaledSigmoid(2.999)).toBeCloseTo(-0.999999385, 9);
    expect(scaledSigmoid(3)).toBe(-1);
    expect(scaledSigmoid(50)).toBe(-1);
  });
});

describe('NAB probation', () => {
  it('is 15 % of the rows, rounded down, at most 750', () => {
    expect(nabProbationRows(20)).toBe(3); // floor(3.0)
    expect(nabProbationRows(4999)).toBe(749); // floor(749.85)
    expect(nabProbationRows(5000)).toBe(750);
    expect(nabProbationRows(22_695)).toBe(750);
  });
});

describe('NAB file score', () => {
  // 20 rows (minutes 0..19); probation = floor(0.15 · 20) = 3 rows (0, 1, 2).
  // Window A holds rows 5..9 (width 5), window B rows 14..15 (width 2).
  const timestamps = minutes(20);
  const windows = [rowsWindow(5, 9), rowsWindow(14, 15)];
  // Detections: 1 (probation: ignored), 4 (before every window), 7 and 8 (in A; only 7 counts),
  // 11 (after A), 17 (after B); B gets none.
  const detections = detectionsAt(20, [1, 4, 7, 8, 11, 17]);

  it('scores the standard profile by hand', () => {
    // row 4:  FP before the first window                      −0.11
    // row 7:  first TP of A, p = −(9 − 7 + 1)/5 = −0.6
    //         σ(−0.6) = 2/(1 + e^−3) − 1 = 2/1.049787068 − 1 = 0.905148254
    //         / σ(−1) = 0.905148254 / 0.986614298             +0.917428680
    // row 8:  second detection in A: nothing                   0
    // row 11: FP, d = (11 − 9)/(5 − 1) = 0.5
    //         σ(0.5) = 2/(1 + e^2.5) − 1 = 2/13.182493961 − 1 = −0.848283640; · 0.11 = −0.093311200
    // row 17: FP, d = (17 − 15)/(2 − 1) = 2
    //         σ(2) = 2/(1 + e^10) − 1 = 2/22027.465795 − 1 = −0.999909204; · 0.11 = −0.109990012
    // B:      no detection, FN                                 −1
    // sum = −0.11 + 0.917428680 − 0.093311200 − 0.109990012 − 1 = −0.395872532
    const result = scoreNabFile(timestamps, detections, windows, NAB_PROFILES.standard);
    expect(result.score).toBeCloseTo(-0.395872532, 8);
    // scored rows 3..19 = 17: in windows 7 rows (2 detected), outside 10 rows (3 detected)
    expect(result).toMatchObject({ windows: 2, detectedWindows: 1, tp: 2, fn: 5, fp: 3, tn: 7 });
  });

  it('weighs false positives double in reward_low_FP_rate and misses double in reward_low_FN_rate', () => {
    // low FP: −0.22 + 0.917428680 + (−0.848283640 · 0.22) + (−0.999909204 · 0.22) − 1
    //       = −0.22 + 0.917428680 − 0.186622401 − 0.219980025 − 1 = −0.709173745
    expect(scoreNabFile(timestamps, detections, windows, NAB_PROFILES.reward_low_FP_rate).score).toBeCloseTo(-0.709173745, 8);
    // low FN: the standard sum with the miss at −2 instead of −1: −0.395872532 − 1 = −1.395872532
    expect(scoreNabFile(timestamps, detections, windows, NAB_PROFILES.reward_low_FN_rate).score).toBeCloseTo(-1.395872532, 8);
  });

  it('gives a window detected at its first row exactly tpWeight, and nothing for detecting nothing but misses', () => {
    // σ(−(9 − 5 + 1)/5) / σ(−1) = σ(−1)/σ(−1) = 1; σ(−(15 − 14 + 1)/2) / σ(−1) = 1
    expect(scoreNabFile(timestamps, detectionsAt(20, [5, 14]), windows, NAB_PROFILES.standard).score).toBeCloseTo(2, 12);
    // the null detector: −fnWeight per window
    expect(scoreNabFile(timestamps, detectionsAt(20, []), windows, NAB_PROFILES.standard).score).toBe(-2);
    expect(scoreNabFile(timestamps, detectionsAt(20, []), windows, NAB_PROFILES.reward_low_FN_rate).score).toBe(-4);
  });

  it('costs the full fpWeight from three widths past a window on', () => {
    // row 19 after B: d = (19 − 15)/(2 − 1) = 4 ≥ 3 → σ = −1; · 0.11 = −0.11; plus the hits at the
    // first rows (+1 +1): 2 − 0.11 = 1.89
    expect(scoreNabFile(timestamps, detectionsAt(20, [5, 14, 19]), windows, NAB_PROFILES.standard).score).toBeCloseTo(1.89, 12);
  });

  it('never scores probation rows; a window reaching into probation keeps its full width', () => {
    // window rows 2..6 (width 5) starts inside the 3-row probation. A detection at row 2 is ignored;
    // the one at row 3 is the first that counts: p = −(6 − 3 + 1)/5 = −0.8,
    // σ(−0.8) = 2/(1 + e^−4) − 1 = 2/1.018315639 − 1 = 0.964027580; / 0.986614298 = 0.977106841
    const early = [rowsWindow(2, 6)];
    expect(scoreNabFile(timestamps, detectionsAt(20, [2, 3]), early, NAB_PROFILES.standard).score).toBeCloseTo(0.977106841, 8);
    // a window wholly inside probation is neither a hit nor a miss, and a detection there is ignored
    const hidden = scoreNabFile(timestamps, detectionsAt(20, [1]), [rowsWindow(0, 1)], NAB_PROFILES.standard);
    expect(hidden).toMatchObject({ score: 0, windows: 0 });
    // but it is the previous window of a later false positive: d = (4 − 1)/(2 − 1) = 3 → −0.11
    expect(scoreNabFile(timestamps, detectionsAt(20, [4]), [rowsWindow(0, 1)], NAB_PROFILES.standard).score).toBeCloseTo(-0.11, 12);
  });

  it('takes a one-row window as giving no scale: a later false positive costs the full fpWeight', () => {
    expect(scoreNabFile(timestamps, detectionsAt(20, [10, 12]), [rowsWindow(10, 10)], NAB_PROFILES.standard).score).toBeCloseTo(1 - 0.11, 12);
  });

  it('takes repeated timestamps as rows like any other', () => {
    // a repeated timestamp (NAB's files have them where clocks went back) is a row like any other:
    // window rows 1..3 (width 3), first detection at row 2: p = −(3 − 2 + 1)/3 = −2/3,
    // σ(−2/3) = 2/(1 + e^(−10/3)) − 1 = 2/1.035673993 − 1 = 0.931110; / 0.986614298 = 0.943742
    const repeated = [0, MINUTE, MINUTE, 2 * MINUTE, 3 * MINUTE];
    expect(scoreNabFile(repeated, detectionsAt(5, [2]), [{ start: MINUTE, end: 2 * MINUTE }], NAB_PROFILES.standard, 0).score).toBeCloseTo(0.943742, 6);
  });

  it('closes a window at the first row holding its end time, as NAB (timestamps.index(end))', () => {
    // rows at minutes 0, 1, 2, 2, 3: the window [1, 2] is rows 1..2 (width 2); row 3 repeats its end
    // time and lies after it. A detection at row 3 misses the window (−1) and is a false positive
    // d = (3 − 2)/(2 − 1) = 1 past it: σ(1) = 2/(1 + e^5) − 1 = −0.986614298; · 0.11 = −0.108527573.
    const repeatedEnd = [0, MINUTE, 2 * MINUTE, 2 * MINUTE, 3 * MINUTE];
    const result = scoreNabFile(repeatedEnd, detectionsAt(5, [3]), [{ start: MINUTE, end: 2 * MINUTE }], NAB_PROFILES.standard, 0);
    expect(result.score).toBeCloseTo(-1.108527573, 8);
    expect(result).toMatchObject({ windows: 1, detectedWindows: 0, tp: 0, fn: 2, fp: 1, tn: 2 });
  });
});

describe('NAB normalisation over a set of files', () => {
  const file = (score: number, windows: number, labelledWindows = windows) => ({ score, labelledWindows, windows, detectedWindows: 0, tp: 0, fp: 0, fn: 0, tn: 0 });

  it('puts the null detector at 0 and the perfect one at 100', () => {
    // standard, 2 windows: S_null = −1 · 2 = −2, S_perfect = 1 · 2 = 2
    expect(nabCorpusScore([file(-2, 2)], NAB_PROFILES.standard)).toEqual({ score: -2, nullScore: -2, perfectScore: 2, normalised: 0 });
    expect(nabCorpusScore([file(2, 2)], NAB_PROFILES.standard).normalised).toBe(100);
  });

  it('sums the files first: 100 · (S − S_null) / (S_perfect − S_null)', () => {
    // the file above (−0.395872532, 2 windows) plus a file without windows and one false positive
    // (−0.11): S = −0.505872532; standard: 100 · (−0.505872532 + 2) / (2 + 2) = 37.3531867
    expect(nabCorpusScore([file(-0.395872532, 2), file(-0.11, 0)], NAB_PROFILES.standard).normalised).toBeCloseTo(37.3531867, 6);
    // low FN: S_null = −2 · 2 = −4; S = −1.395872532 → 100 · 2.604127468 / 6 = 43.4021245
    expect(nabCorpusScore([file(-1.395872532, 2)], NAB_PROFILES.reward_low_FN_rate).normalised).toBeCloseTo(43.4021245, 6);
  });

  it('counts a window wholly in probation in S_perfect but not in S_null, as NAB', () => {
    // NAB's runner.normalize: S_perfect = tpWeight · every window of the labels; its sweeper keeps no
    // part (no −fnWeight) for a window none of whose rows is scored. 20 rows, probation rows 0..2, the
    // file's only window rows 0..1. A false positive at row 10: d = (10 − 1)/(2 − 1) = 9 ≥ 3 → −0.11.
    // S = −0.11, S_null = 0, S_perfect = 1: 100 · (−0.11 − 0) / (1 − 0) = −11.
    const onlyInProbation = scoreNabFile(minutes(20), detectionsAt(20, [10]), [rowsWindow(0, 1)], NAB_PROFILES.standard);
    expect(onlyInProbation).toMatchObject({ windows: 0, labelledWindows: 1 });
    const corpus = nabCorpusScore([onlyInProbation], NAB_PROFILES.standard);
    expect(corpus).toMatchObject({ nullScore: -0, perfectScore: 1 });
    expect(corpus.normalised).toBeCloseTo(-11, 9);
    // beside a scored window (rows 5..9, detected at its first row: +1): S = 1, S_null = −1,
    // S_perfect = 2; 100 · (1 + 1) / (2 + 1) = 66.666667
    const both = scoreNabFile(minutes(20), detectionsAt(20, [5]), [rowsWindow(0, 1), rowsWindow(5, 9)], NAB_PROFILES.standard);
    expect(nabCorpusScore([both], NAB_PROFILES.standard).normalised).toBeCloseTo(66.666667, 5);
  });
});
