// `pdm benchmark skab|nab` end to end on small dataset folders made here in the benchmarks' layouts:
// real `pdm train` and `pdm score` per recording, then the protocol's figures.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { capture } from '../test-support/capture.js';

const dir = makeTestDataDir('pdm-benchmark');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plain = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/** A deterministic noise source, so the runs are repeatable. */
function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
}

/** A SKAB-like recording: 700 rows at 1 Hz, ';'-separated, a fault from row 550 on (labelled). */
function skabRecording(file: string, seed: number, labelled = true): void {
  const next = noise(seed);
  const t0 = Date.UTC(2020, 2, 1, 15);
  const header = ['datetime', 'Current', 'Pressure', 'Temperature', ...(labelled ? ['anomaly', 'changepoint'] : [])].join(';');
  const rows = Array.from({ length: 700 }, (_, i) => {
    const fault = i >= 550;
    const values = [1.2 + 0.05 * next() + (fault ? 0.8 : 0), 0.1 + 0.02 * next() + (fault ? 0.5 : 0), 70 + 0.3 * next() + (fault ? 8 : 0)].map((v) => v.toFixed(4));
    return [plain(t0 + i * 1000), ...values, ...(labelled ? [fault ? '1.0' : '0.0', i === 550 ? '1.0' : '0.0'] : [])].join(';');
  });
  writeFileSync(file, [header, ...rows].join('\n'));
}

describe('pdm benchmark skab', () => {
  it('trains on rows 1–400 of each recording, scores the rest and prints the pointwise figures', async () => {
    const skab = join(dir, 'skab');
    mkdirSync(join(skab, 'other'), { recursive: true });
    mkdirSync(join(skab, 'anomaly-free'), { recursive: true });
    skabRecording(join(skab, 'other', '1.csv'), 1);
    skabRecording(join(skab, 'other', '2.csv'), 2);
    skabRecording(join(skab, 'anomaly-free', 'anomaly-free.csv'), 3, false);

    const { context, out, err } = capture();
    expect(await main(['benchmark', 'skab', '--data', skab], context)).toBe(0);
    const text = out.join('\n');
    expect(err.join('\n')).toMatch(/skipped \(no "anomaly" column, not part of the protocol\): anomaly-free\/anomaly-free\.csv/);
    expect(err.join('\n')).toMatch(/\[2\/2\] other\/2\.csv: \d+ windows scored, \d+ anomalous/);
    // 300 test rows per file, 150 of them labelled
    expect(text).toMatch(/other\/1\.csv\s+300\s+150\s/);
    expect(text).toMatch(/other\/2\.csv\s+300\s+150\s/);
    expect(text).toMatch(/always anomalous\s+300\s+300\s+0\s+0\s+0\.667\s+100\.0 %\s+0\.0 %/);
    const total = /total over 2 files: F1 ([\d.]+) · FAR ([\d.]+) % · MAR ([\d.]+) %/.exec(text);
    expect(total).not.toBeNull();
    // the fault is plain (every sensor shifts by many standard deviations): the detector must see it
    expect(Number(total![1])).toBeGreaterThan(0.8);
  });

  it('passes --kind to pdm train and says so above the table', async () => {
    const skab = join(dir, 'skab-kind');
    mkdirSync(join(skab, 'other'), { recursive: true });
    skabRecording(join(skab, 'other', '1.csv'), 4);
    const { context, out } = capture();
    expect(await main(['benchmark', 'skab', '--data', skab, '--kind', 'autoencoder'], context)).toBe(0);
    expect(out.join('\n')).toMatch(/pdm score on the rest, pdm train --kind autoencoder/);
    const bogus = capture();
    expect(await main(['benchmark', 'skab', '--data', skab, '--kind', 'forest'], bogus.context)).toBe(2);
    expect(bogus.err.join('\n')).toContain('--kind must be one of autoencoder, robust-t2, adaptive-z, pca; got "forest"');
  });

  it('refuses a folder without SKAB recordings, and a missing folder', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const none = capture();
    expect(await main(['benchmark', 'skab', '--data', empty], none.context)).toBe(2);
    expect(none.err.join('\n')).toContain('no SKAB recording');
    const absent = capture();
    expect(await main(['benchmark', 'skab', '--data', join(dir, 'nowhere')], absent.context)).toBe(2);
    expect(absent.err.join('\n')).toMatch(/--data: .*nowhere does not exist/);
    const unnamed = capture();
    expect(await main(['benchmark', '--data', empty], unnamed.context)).toBe(2);
    expect(unnamed.err.join('\n')).toContain('name the benchmark: skab, nab or simulator');
  });
});

describe('pdm benchmark nab', () => {
  // One series of 1,000 rows 5 minutes apart: probation = 150 rows. The labelled window holds rows
  // 700..760, where the level jumps by 30.
  const nab = join(dir, 'nab');
  const t0 = Date.UTC(2014, 3, 1);
  const at = (row: number) => t0 + row * 300_000;
  const next = noise(9);
  mkdirSync(join(nab, 'data', 'artificialWithAnomaly'), { recursive: true });
  mkdirSync(join(nab, 'labels'), { recursive: true });
  mkdirSync(join(nab, 'config'), { recursive: true });
  const values = Array.from({ length: 1000 }, (_, i) => 20 + 2 * Math.sin((2 * Math.PI * i) / 288) + 0.2 * next() + (i >= 700 && i <= 760 ? 30 : 0));
  writeFileSync(join(nab, 'data', 'artificialWithAnomaly', 'jump.csv'), ['timestamp,value', ...values.map((v, i) => `${plain(at(i))},${v.toFixed(3)}`)].join('\n'));
  writeFileSync(
    join(nab, 'labels', 'combined_windows.json'),
    JSON.stringify({ 'artificialWithAnomaly/jump.csv': [[`${plain(at(700))}.000000`, `${plain(at(760))}.000000`]], 'realKnownCause/absent.csv': [] }),
  );
  const profiles = {
    standard: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0 } },
    reward_low_FP_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.22, tnWeight: 1.0 } },
    reward_low_FN_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 2.0, fpWeight: 0.11, tnWeight: 1.0 } },
  };
  writeFileSync(join(nab, 'config', 'profiles.json'), JSON.stringify(profiles));
  const threshold = { threshold: 0.5, score: 0 };
  writeFileSync(join(nab, 'config', 'thresholds.json'), JSON.stringify({ tiny: { standard: threshold, reward_low_FP_rate: threshold, reward_low_FN_rate: threshold } }));

  /** Published results of a detector that alarms at the window's first row only: +1 on every profile, written there. */
  function publish(standardAtWindowStart: number): void {
    mkdirSync(join(nab, 'results', 'tiny', 'artificialWithAnomaly'), { recursive: true });
    const lines = ['timestamp,value,anomaly_score,raw_score,label,S(t)_reward_low_FP_rate,S(t)_reward_low_FN_rate,S(t)_standard'];
    values.forEach((v, i) => {
      const hit = i === 700;
      const label = i >= 700 && i <= 760 ? 1 : 0;
      lines.push(`${plain(at(i))},${v.toFixed(3)},${hit ? 1 : 0},${hit ? 1 : 0},${label},${hit ? 1 : 0},${hit ? 1 : 0},${hit ? standardAtWindowStart : 0}`);
    });
    writeFileSync(join(nab, 'results', 'tiny', 'artificialWithAnomaly', 'tiny_jump.csv'), lines.join('\n'));
  }

  it('stops before any figure when the scorer disagrees with the published results', async () => {
    publish(0.5);
    const { context, out, err } = capture();
    expect(await main(['benchmark', 'nab', '--data', nab], context)).toBe(1);
    expect(out.join('\n')).toMatch(/tiny artificialWithAnomaly\/jump\.csv\s+standard\s+0\.500000\s+1\.000000000\s+0\.500000000\s+5\.0e-1\s+MISMATCH/);
    expect(err.join('\n')).toContain('NAB SCORER PARITY FAILED on 1 of 3 file/profile pairs');
    expect(out.join('\n')).not.toMatch(/NAB score over/);
  });

  it('proves the scorer, then trains on the probation rows, scores the rest and prints NAB’s figures', async () => {
    publish(1);
    const { context, out, err } = capture();
    expect(await main(['benchmark', 'nab', '--data', nab], context)).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('NAB scorer parity: all 3 file/profile pairs agree within 1e-6');
    expect(err.join('\n')).toContain('1 labelled file is not in');
    expect(err.join('\n')).toMatch(/\[1\/1\] artificialWithAnomaly\/jump\.csv: 850 windows scored/);
    // rows 1,000, probation 150, one window; the jump is found
    expect(text).toMatch(/artificialWithAnomaly\/jump\.csv\s+1,000\s+150\s+1\s+1\s/);
    expect(text).toMatch(/NAB score over 1 file \(1 window\)/);
    expect(text).toMatch(/reward_low_FN_rate\s+-?[\d.]+\s+-2\.000\s+1\.000\s+-?[\d.]+/);
  });

  it('skips a file it refuses, naming it and its line, scores the others and exits 1', async () => {
    // the good series above beside one whose data row 32 (file line 33) goes back in time
    const mixed = join(dir, 'nab-mixed');
    mkdirSync(join(mixed, 'data', 'artificialWithAnomaly'), { recursive: true });
    mkdirSync(join(mixed, 'labels'), { recursive: true });
    writeFileSync(join(mixed, 'data', 'artificialWithAnomaly', 'jump.csv'), ['timestamp,value', ...values.map((v, i) => `${plain(at(i))},${v.toFixed(3)}`)].join('\n'));
    const backwards = Array.from({ length: 300 }, (_, i) => `${plain(at(i === 31 ? 5 : i))},1`);
    writeFileSync(join(mixed, 'data', 'artificialWithAnomaly', 'backwards.csv'), ['timestamp,value', ...backwards].join('\n'));
    const window = (first: number, last: number) => [`${plain(at(first))}.000000`, `${plain(at(last))}.000000`];
    writeFileSync(join(mixed, 'labels', 'combined_windows.json'), JSON.stringify({ 'artificialWithAnomaly/jump.csv': [window(700, 760)], 'artificialWithAnomaly/backwards.csv': [window(200, 220)] }));

    const { context, out, err } = capture();
    expect(await main(['benchmark', 'nab', '--data', mixed], context)).toBe(1);
    const text = out.join('\n');
    const refused = 'artificialWithAnomaly/backwards.csv line 33: rows must be in time order: "2014-04-01 00:25:00" is before line 32\'s "2014-04-01 02:30:00"';
    expect(err.join('\n')).toContain(`[1/2] artificialWithAnomaly/backwards.csv: skipped, ${refused}`);
    expect(err.join('\n')).toMatch(/\[2\/2\] artificialWithAnomaly\/jump\.csv: 850 windows scored/);
    expect(text).toMatch(/artificialWithAnomaly\/jump\.csv\s+1,000\s+150\s+1\s+1\s/);
    expect(text).toMatch(/NAB score over 1 file, 1 skipped \(see notes\) \(1 window\)/);
    expect(text).toContain(`  artificialWithAnomaly/backwards.csv: skipped, ${refused}`);
  });
});
