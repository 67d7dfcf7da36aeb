// `pdm evaluate --protocol skab|nab` on recordings and scores files made here; without --protocol the
// simulator's evaluation answers as before.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { capture } from '../test-support/capture.js';

const dir = makeTestDataDir('pdm-evaluate-protocols');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const t0 = Date.UTC(2020, 2, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const plain = (ms: number) => iso(ms).replace('T', ' ').slice(0, 19);
const HEADER = 'window_start,window_end,machine,score,threshold,anomaly';

/** 500 SKAB rows at 1 Hz, labelled anomalous from row 450 on; scores cover seconds 400..499, alarmed from 440. */
function skabFiles(name: string): { recording: string; scores: string } {
  const recording = join(dir, `${name}.csv`);
  const scores = join(dir, `${name}-scores.csv`);
  const rows = Array.from({ length: 500 }, (_, i) => `${plain(t0 + i * 1000)};1.5;0.2;${i >= 450 ? 1 : 0}.0;0.0`);
  writeFileSync(recording, ['datetime;Current;Pressure;anomaly;changepoint', ...rows].join('\n'));
  const windows = Array.from({ length: 10 }, (_, k) => 400 + 10 * k).map((s) => `${iso(t0 + s * 1000)},${iso(t0 + (s + 10) * 1000)},${name},1,2,${s >= 440 ? 1 : 0}`);
  writeFileSync(scores, [HEADER, ...windows].join('\n'));
  return { recording, scores };
}

describe('pdm evaluate --protocol skab', () => {
  it('judges the rows after the first 400 pointwise, per file and in total, with the baselines', async () => {
    const a = skabFiles('1');
    const b = skabFiles('2');
    const { context, out } = capture();
    expect(await main(['evaluate', '--protocol', 'skab', '--labels', a.recording, '--scores', a.scores, '--labels', b.recording, '--scores', b.scores], context)).toBe(0);
    const text = out.join('\n');
    // per file: test rows 400..499; alarmed 440..499 (60) of which labelled 450..499: TP 50, FP 10, FN 0, TN 40
    expect(text).toMatch(/1\.csv\s+100\s+50\s+50\s+10\s+0\s+40\s+0\s+0\.909\s+20\.0 %\s+0\.0 %/);
    // total TP 100 FP 20 FN 0 TN 80: F1 = 100 / (100 + 20/2) = 0.909, FAR = 20/100, MAR 0
    expect(text).toContain('total over 2 files: F1 0.909 · FAR 20.0 % · MAR 0.0 %');
    expect(text).toMatch(/null \(never anomalous\)\s+0\s+0\s+100\s+100\s+0\.000/);
  });

  it('prints JSON with --json', async () => {
    const a = skabFiles('3');
    const { context, out } = capture();
    expect(await main(['evaluate', '--protocol', 'skab', '--labels', a.recording, '--scores', a.scores, '--json'], context)).toBe(0);
    const json = JSON.parse(out.join('\n')) as { total: { tp: number; f1: number } };
    expect(json.total.tp).toBe(50);
    expect(json.total.f1).toBeCloseTo(50 / 55, 9);
  });

  it('says what is missing or unpaired', async () => {
    const a = skabFiles('4');
    const unpaired = capture();
    expect(await main(['evaluate', '--protocol', 'skab', '--labels', a.recording], unpaired.context)).toBe(2);
    expect(unpaired.err.join('\n')).toContain('give one --scores FILE per --labels FILE (got 1 --labels, 0 --scores)');
    const unknown = capture();
    expect(await main(['evaluate', '--protocol', 'kdd', '--labels', a.recording, '--scores', a.scores], unknown.context)).toBe(2);
    expect(unknown.err.join('\n')).toContain('--protocol must be skab or nab, got "kdd"');
    const unreadable = capture();
    expect(await main(['evaluate', '--protocol=skab', '--labels', join(dir, 'none.csv'), '--scores', a.scores], unreadable.context)).toBe(2);
    expect(unreadable.err.join('\n')).toMatch(/--labels: cannot read .*none\.csv/);
    // Content the evaluation refuses is the user's mistake too: exit 2, the file named.
    const badScores = join(dir, '4-bad-scores.csv');
    writeFileSync(badScores, `${HEADER}\n${iso(t0)},${iso(t0 + 10_000)},4,one,2,0`);
    const malformed = capture();
    expect(await main(['evaluate', '--protocol', 'skab', '--labels', a.recording, '--scores', badScores], malformed.context)).toBe(2);
    expect(malformed.err.join('\n')).toMatch(/4-bad-scores\.csv.*score "one" is not a finite decimal number/);
    const twoMachines = join(dir, '4-two-machines.csv');
    writeFileSync(twoMachines, `${HEADER}\n${iso(t0)},${iso(t0 + 10_000)},pump-1,1,2,0\n${iso(t0)},${iso(t0 + 10_000)},pump-2,1,2,0`);
    const ambiguous = capture();
    expect(await main(['evaluate', '--protocol', 'skab', '--labels', a.recording, '--scores', twoMachines], ambiguous.context)).toBe(2);
    expect(ambiguous.err.join('\n')).toMatch(/4-two-machines\.csv holds 2 machines/);
  });

  it('prints a mistake in a file\'s content alone, without the usage text that says nothing about it', async () => {
    const a = skabFiles('5');
    const shortRow = join(dir, '5-short-row.csv');
    writeFileSync(shortRow, `${HEADER}\n${iso(t0)},${iso(t0 + 10_000)},5`);
    const { context, err } = capture();
    expect(await main(['evaluate', '--protocol', 'skab', '--labels', a.recording, '--scores', shortRow], context)).toBe(2);
    expect(err).toEqual([`pdm evaluate: ${shortRow} line 2: 3 cells, the header has 6`]);
    // a flag mistake still shows the usage
    const unpaired = capture();
    expect(await main(['evaluate', '--protocol', 'skab', '--labels', a.recording], unpaired.context)).toBe(2);
    expect(unpaired.err.join('\n')).toContain('Options:');
  });

  it('says so when a recording is too short to leave rows after the training split', async () => {
    // 400 rows: all of them rows 1–400, the training split; nothing is judged
    const recording = join(dir, '6.csv');
    writeFileSync(recording, ['datetime;Current;anomaly;changepoint', ...Array.from({ length: 400 }, (_, i) => `${plain(t0 + i * 1000)};1.5;0.0;0.0`)].join('\n'));
    const scores = join(dir, '6-scores.csv');
    writeFileSync(scores, `${HEADER}\n${iso(t0)},${iso(t0 + 10_000)},6,1,2,0`);
    const { context, out } = capture();
    expect(await main(['evaluate', '--protocol', 'skab', '--labels', recording, '--scores', scores], context)).toBe(0);
    expect(out.join('\n')).toContain(`${recording}: no test rows: the protocol trains on rows 1–400 and judges the rows after them; this recording has no more`);
  });
});

describe('pdm evaluate --protocol nab', () => {
  it('scores a series by NAB’s rules from its labelled windows', async () => {
    // 100 rows 5 min apart; probation = floor(0.15 · 100) = 15 rows; the window holds rows 60..69.
    const series = join(dir, 'realKnownCause', 'machine.csv');
    const labels = join(dir, 'combined_windows.json');
    const scores = join(dir, 'machine-scores.csv');
    const at = (row: number) => t0 + row * 300_000;
    mkdirSync(join(dir, 'realKnownCause'), { recursive: true });
    writeFileSync(series, ['timestamp,value', ...Array.from({ length: 100 }, (_, i) => `${plain(at(i))},${i}`)].join('\n'));
    writeFileSync(labels, JSON.stringify({ 'realKnownCause/machine.csv': [[`${plain(at(60))}.000000`, `${plain(at(69))}.000000`]] }));
    // 10-second windows, one per row from row 15 on; alarms at row 30 (a false positive before the
    // window: −0.11) and row 65 (p = −(69 − 65 + 1)/10 = −0.5: σ(−0.5)/σ(−1) = 0.848283640 / 0.986614298 = 0.859801)
    const windows = Array.from({ length: 85 }, (_, k) => k + 15).map((row) => `${iso(at(row))},${iso(at(row) + 10_000)},machine,0,1,${row === 30 || row === 65 ? 1 : 0}`);
    writeFileSync(scores, [HEADER, ...windows].join('\n'));

    const { context, out } = capture();
    expect(await main(['evaluate', '--protocol', 'nab', '--labels', labels, '--data', series, '--scores', scores], context)).toBe(0);
    const text = out.join('\n');
    // standard: 0.859801 − 0.11 = 0.749801; normalised over 1 window: 100 · (0.749801 + 1) / 2 = 87.5
    expect(text).toMatch(/realKnownCause\/machine\.csv\s+100\s+15\s+1\s+1\s+1\s+0\s+0\.750/);
    expect(text).toMatch(/standard\s+0\.750\s+-1\.000\s+1\.000\s+87\.5/);
    const missing = capture();
    expect(await main(['evaluate', '--protocol', 'nab', '--labels', labels, '--data', join(dir, 'other.csv'), '--scores', scores], missing.context)).toBe(2);
    expect(missing.err.join('\n')).toMatch(/has no windows for .*other\.csv/);
  });
});

describe('pdm evaluate without --protocol', () => {
  it('is still the simulator’s evaluation against a ground-truth file', async () => {
    const { context, err } = capture();
    expect(await main(['evaluate', '--scores', 'x.csv'], context)).toBe(2);
    expect(err.join('\n')).toContain('--ground-truth: is required');
    const help = capture();
    expect(await main(['evaluate', '--help'], help.context)).toBe(0);
    expect(help.out.join('\n')).toMatch(/pdm evaluate --ground-truth gt\.json[\s\S]*pdm evaluate --protocol skab/);
  });
});
