import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkNabParity, nabParityOfFile, parityHolds } from './nab-parity.js';

// The series of nab.test.ts in NAB's published-results layout: 20 rows a minute apart, window A
// rows 5..9, window B rows 14..15; anomaly_score 0.9 at rows 1, 4, 7, 8, 11 and 0.55 at row 17, so
// row 17 is a detection at threshold 0.5 (standard, low FN) but not at 0.6 (low FP).
const time = (row: number) => `2014-01-01 00:${String(row).padStart(2, '0')}:00`;
const windows = { 'artificial/series.csv': [[`${time(5)}.000000`, `${time(9)}.000000`], [`${time(14)}.000000`, `${time(15)}.000000`]] };
const thresholds = { standard: 0.5, reward_low_FP_rate: 0.6, reward_low_FN_rate: 0.5 };
// NAB writes a hit or a miss on the window's first row and each false positive on its own row:
//   standard  row 4 −0.11, row 5 +0.917428680 (A hit at p = −0.6), row 11 −0.093311200,
//             row 14 −1 (B missed), row 17 −0.109990012                     sum −0.395872532
//   low FP    row 4 −0.22, row 5 +0.917428680, row 11 −0.186622401, row 14 −1 (row 17 is no
//             detection at 0.6)                                            sum −0.489193721
//   low FN    as standard with the miss at −2                              sum −1.395872532
const published: Record<number, [number, number, number]> = {
  4: [-0.22, -0.11, -0.11],
  5: [0.917428680428, 0.917428680428, 0.917428680428],
  11: [-0.186622400791, -0.093311200395, -0.093311200395],
  14: [-1, -2, -1],
  17: [0, -0.109990012469, -0.109990012469],
};

function resultsCsv(lowFnSum: (row: number) => number = (row) => published[row]?.[1] ?? 0): string {
  const lines = ['timestamp,value,anomaly_score,raw_score,label,S(t)_reward_low_FP_rate,S(t)_reward_low_FN_rate,S(t)_standard'];
  for (let row = 0; row < 20; row++) {
    const score = [1, 4, 7, 8, 11].includes(row) ? 0.9 : row === 17 ? 0.55 : 0.03;
    const label = (row >= 5 && row <= 9) || row === 14 || row === 15 ? 1 : 0;
    const [lowFp, , standard] = published[row] ?? [0, 0, 0];
    lines.push(`${time(row)},${row},${score},${score},${label},${lowFp},${lowFnSum(row)},${standard}`);
  }
  return lines.join('\n');
}

describe('NAB scorer parity with published results', () => {
  const parsedWindows = [
    { start: Date.UTC(2014, 0, 1, 0, 5), end: Date.UTC(2014, 0, 1, 0, 9) },
    { start: Date.UTC(2014, 0, 1, 0, 14), end: Date.UTC(2014, 0, 1, 0, 15) },
  ];

  it('reproduces each S(t) column sum at each profile’s own threshold', () => {
    const rows = nabParityOfFile(resultsCsv(), 'numenta_series.csv', parsedWindows, thresholds);
    expect(rows.map((r) => r.profile)).toEqual(['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']);
    expect(rows[0]!.published).toBeCloseTo(-0.395872532, 8);
    expect(rows[1]!.published).toBeCloseTo(-0.489193721, 8);
    expect(rows[2]!.published).toBeCloseTo(-1.395872532, 8);
    for (const row of rows) expect(parityHolds({ detector: 'tiny', file: 'artificial/series.csv', ...row })).toBe(true);
  });

  it('shows a mismatch when the published sums differ from the rules', () => {
    // pretend NAB had not counted the second window's miss in the low-FN column
    const rows = nabParityOfFile(resultsCsv((row) => (row === 14 ? 0 : (published[row]?.[1] ?? 0))), 'x.csv', parsedWindows, thresholds);
    const lowFn = rows.find((r) => r.profile === 'reward_low_FN_rate')!;
    expect(lowFn.published - lowFn.ours).toBeCloseTo(2, 8);
    expect(parityHolds({ detector: 'tiny', file: 'x', ...lowFn })).toBe(false);
  });

  describe('over a NAB folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-nab-parity-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const profiles = {
      standard: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0 } },
      reward_low_FP_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.22, tnWeight: 1.0 } },
      reward_low_FN_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 2.0, fpWeight: 0.11, tnWeight: 1.0 } },
    };
    mkdirSync(join(dir, 'labels'));
    mkdirSync(join(dir, 'config'));
    mkdirSync(join(dir, 'results', 'tiny', 'artificial'), { recursive: true });
    writeFileSync(join(dir, 'labels', 'combined_windows.json'), JSON.stringify(windows));
    writeFileSync(join(dir, 'results', 'tiny', 'artificial', 'tiny_series.csv'), resultsCsv());
    const thresholdsFile = Object.fromEntries(Object.entries(thresholds).map(([p, threshold]) => [p, { score: 0, threshold }]));
    // a detector with thresholds but no results folder is skipped
    writeFileSync(join(dir, 'config', 'thresholds.json'), JSON.stringify({ tiny: thresholdsFile, absent: thresholdsFile }));

    it('proves every results file of every detector with thresholds', async () => {
      writeFileSync(join(dir, 'config', 'profiles.json'), JSON.stringify(profiles));
      const seen: string[] = [];
      const rows = await checkNabParity(dir, (row) => seen.push(`${row.detector} ${row.file} ${row.profile}`));
      expect(seen).toEqual(['tiny artificial/series.csv standard', 'tiny artificial/series.csv reward_low_FP_rate', 'tiny artificial/series.csv reward_low_FN_rate']);
      expect(rows.every(parityHolds)).toBe(true);
    });

    it('refuses a folder whose profiles are not the ones the scorer uses', async () => {
      writeFileSync(join(dir, 'config', 'profiles.json'), JSON.stringify({ ...profiles, standard: { CostMatrix: { tpWeight: 1, fnWeight: 1, fpWeight: 0.2 } } }));
      await expect(checkNabParity(dir)).rejects.toThrow(/profile standard is .* the scorer uses/);
    });
  });
});
