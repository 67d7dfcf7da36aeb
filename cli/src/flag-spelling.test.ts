import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture } from './test-support/capture.js';

// One spelling per concept across commands (--out, --from/--until); the old ones keep working.
describe('flag spellings', () => {
  const dir = makeTestDataDir('pdm-flag-spelling');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const csv = join(dir, 'pump-7.csv');
  // 30 one-second rows from 00:00:00: three 10 s windows.
  const rows = Array.from({ length: 30 }, (_, i) => `${new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()},${20 + i}`);
  writeFileSync(csv, ['time,temp', ...rows].join('\n'));
  const windowStarts = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { window_start: number }).window_start);
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

  it('pdm replay writes to --out, and to --output (old spelling)', async () => {
    for (const flag of ['--out', '--output']) {
      const file = join(dir, `windows${flag}.jsonl`);
      const { context, out } = capture();
      expect(await main(['replay', '--input', csv, '--window', '10s', flag, file], context)).toBe(0);
      expect(out).toEqual([]);
      expect(windowStarts(file)).toEqual([0, 10, 20].map((s) => Date.UTC(2026, 0, 1, 0, 0, s)));
    }
  });

  it('--start/--end keep the same windows as --from/--until', async () => {
    for (const [from, until] of [['--from', '--until'], ['--start', '--end']]) {
      const file = join(dir, `range${from}.jsonl`);
      const { context } = capture();
      // Windows starting at or after 00:00:10 and ending at or before 00:00:20: only the middle one.
      expect(await main(['replay', '--input', csv, '--window', '10s', '--out', file, from!, t(10), until!, t(20)], context)).toBe(0);
      expect(windowStarts(file)).toEqual([Date.UTC(2026, 0, 1, 0, 0, 10)]);
    }
  });

  it('refuses a flag given in both spellings, naming them', async () => {
    const { context, err } = capture();
    expect(await main(['replay', '--input', csv, '--out', join(dir, 'a'), '--output', join(dir, 'b')], context)).toBe(2);
    expect(err.join('\n')).toMatch(/--output is the old spelling of --out: give one of them/);
    expect(await main(['replay', '--input', csv, '--from', t(0), '--start', t(0)], context)).toBe(2);
    expect(err.join('\n')).toMatch(/--start is the old spelling of --from/);
  });

  it('pdm score asks for --out', async () => {
    const { context, err } = capture();
    expect(await main(['score', '--model', join(dir, 'none'), '--input', csv], context)).toBe(2);
    expect(err.join('\n')).toMatch(/--out FILE is required/);
  });

  it('pdm train --from-influx takes --from/--until, and --start/--end (old spelling)', async () => {
    const { context, err } = capture();
    const base = ['train', '--from-influx', '--machine', 'pump-1', '--out', join(dir, 'models')];
    expect(await main([...base, '--start', t(0)], context)).toBe(2);
    expect(err.join('\n')).toMatch(/--from-influx needs --machine ID, --from T and --until T/);
    expect(await main([...base, '--from', 'yesterday', '--until', t(0)], context)).toBe(2);
    expect(err.join('\n')).toMatch(/--from: "yesterday" is not an ISO-8601 time/);
    expect(await main([...base, '--start', t(0), '--end', 'later'], context)).toBe(2);
    expect(err.join('\n')).toMatch(/--until: "later" is not an ISO-8601 time/);
  });
});
