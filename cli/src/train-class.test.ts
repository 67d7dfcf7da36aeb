// `pdm train` on several machines' recordings: one model of their class, each machine compared with
// its own level, as a user trains it (an --input per machine, the machine id each file's name).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture } from './test-support/capture.js';
import { noiseFrom } from './test-support/noise.js';

const dir = makeTestDataDir('pdm-train-class');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fan at `everyMs` a reading: steady speed, a bearing temperature `tempLevel` and vibration around 2. */
function fanCsv(file: string, start: number, rows: number, tempLevel: number, everyMs = 1000): void {
  const noise = noiseFrom(start / 1000 + tempLevel);
  const lines = ['time,speed,temp,vibration'];
  for (let i = 0; i < rows; i++) {
    const row = [1500 + 5 * noise(), tempLevel + 0.3 * noise(), 2 + 0.1 * noise()];
    lines.push(`${new Date(start + i * everyMs).toISOString()},${row.map((v) => v.toFixed(3)).join(',')}`);
  }
  writeFileSync(file, lines.join('\n'));
}

interface RobustT2Json {
  featureNames: string[];
  machineOffsets?: Record<string, number[]>;
}

describe('pdm train on several machines', () => {
  const t0 = Date.UTC(2026, 1, 1);
  // 2,000 windows of 10 s each (5½ h at 1 Hz): enough for a level of each machine's own.
  const hours = 20_010;

  it('learns each machine its own level and scores each machine against it', async () => {
    const [a, b] = [join(dir, 'fan-a.csv'), join(dir, 'fan-b.csv')];
    fanCsv(a, t0, hours, 60);
    fanCsv(b, t0, hours, 66);
    const registry = join(dir, 'fans');
    const trained = capture();
    expect(await main(['train', '--input', a, '--input', b, '--out', registry, '--kind', 'robust-t2'], trained.context)).toBe(0);
    expect(trained.out.join('\n')).toContain('each compared with its own level: fan-a, fan-b');

    const model = JSON.parse(readFileSync(join(registry, 'anomaly', '1', 'robust-t2.json'), 'utf8')) as RobustT2Json;
    const temp = model.featureNames.indexOf('temp.mean');
    // The machines' temperatures differ by 6 by construction; each offset is its median's from the class.
    const offsets = model.machineOffsets!;
    expect(Object.keys(offsets).sort()).toEqual(['fan-a', 'fan-b']);
    expect(offsets['fan-b']![temp]! - offsets['fan-a']![temp]!).toBeCloseTo(6, 1);

    // A later healthy hour of fan-b is normal for fan-b; the same rows as fan-a's are 6 degrees too hot.
    const later = join(dir, 'later');
    mkdirSync(later);
    fanCsv(join(later, 'fan-b.csv'), t0 + 86_400_000, 3600, 66);
    fanCsv(join(later, 'fan-a.csv'), t0 + 86_400_000, 3600, 66);
    const anomalous = async (machine: string) => {
      const scores = join(dir, `${machine}-scores.csv`);
      expect(await main(['score', '--model', registry, '--input', join(later, `${machine}.csv`), '--output', scores], capture().context)).toBe(0);
      const rows = readFileSync(scores, 'utf8').trim().split('\n').slice(1);
      expect(rows.length).toBe(360);
      return rows.filter((row) => row.split(',')[5] === '1').length;
    };
    expect(await anomalous('fan-b')).toBeLessThanOrEqual(1);
    expect(await anomalous('fan-a')).toBe(360);
  });

  it('says when no machine has enough history for a level of its own', async () => {
    const [a, b] = [join(dir, 'short-a.csv'), join(dir, 'short-b.csv')];
    fanCsv(a, t0, 1200, 60);
    fanCsv(b, t0, 1200, 60.5);
    const trained = capture();
    expect(await main(['train', '--input', a, '--input', b, '--out', join(dir, 'short-fans'), '--kind', 'robust-t2'], trained.context)).toBe(0);
    expect(trained.out.join('\n')).toContain(
      'fewer than 2,000 non-overlapping windows of each machine: every machine is compared with the class location, their differences part of the normal spread',
    );
    const model = JSON.parse(readFileSync(join(dir, 'short-fans', 'anomaly', '1', 'robust-t2.json'), 'utf8')) as RobustT2Json;
    expect(model.machineOffsets).toBeUndefined();
    // Both recordings' windows are in the training: 10 s hopping every 1 s over 1,200 s of each (120
    // tumbling windows are too few), starts 0–1,190 s, the last one closed by the file's end left out.
    expect(trained.out.join('\n')).toMatch(/ 2380 training windows/);
  });

  it('refuses recordings of one machine id, of different windows, and --machine beside several inputs', async () => {
    const other = join(dir, 'other');
    mkdirSync(other);
    const [a, sameName] = [join(dir, 'twin.csv'), join(other, 'twin.csv')];
    fanCsv(a, t0, 1200, 60);
    fanCsv(sameName, t0, 1200, 60);
    const twins = capture();
    expect(await main(['train', '--input', a, '--input', sameName, '--out', join(dir, 'never')], twins.context)).toBe(2);
    expect(twins.err.join('\n')).toContain(`${a} and ${sameName} are both machine twin (a recording's machine is its file name): rename one`);

    // A reading a minute: its window is chosen as 10 minutes, the 1 Hz recording's is 10 s.
    const slow = join(dir, 'slow.csv');
    fanCsv(slow, t0, 1200, 60, 60_000);
    const unlike = capture();
    expect(await main(['train', '--input', a, '--input', slow, '--out', join(dir, 'never')], unlike.context)).toBe(2);
    expect(unlike.err.join('\n')).toContain(`${a} gives 10000 ms windows, ${slow} 600000 ms windows: one model needs one window (--window to choose it)`);

    // A file name that is no machine id: said, naming the file (--machine cannot help with several).
    const spaced = join(dir, 'fan 2.csv');
    fanCsv(spaced, t0, 1200, 60);
    const badName = capture();
    expect(await main(['train', '--input', a, '--input', spaced, '--out', join(dir, 'never')], badName.context)).toBe(2);
    expect(badName.err.join('\n')).toContain(`--input ${spaced}: its file name gives the machine id "fan 2", and machine id must match [A-Za-z0-9_.-]{1,64}: rename the file`);

    // A recording without a window in the range is refused, not left out of the class without a word.
    const early = capture();
    expect(await main(['train', '--input', a, '--input', join(dir, 'short-a.csv'), '--until', new Date(t0 + 5_000).toISOString(), '--out', join(dir, 'never')], early.context)).toBe(2);
    expect(early.err.join('\n')).toContain(`${a}: no window of machine twin to train on between --from and --until`);

    const named = capture();
    expect(await main(['train', '--input', a, '--input', slow, '--machine', 'fan-1', '--out', join(dir, 'never')], named.context)).toBe(2);
    expect(named.err.join('\n')).toContain('--machine names the machine of one --input; with several, each machine is its file name');
  });
});
