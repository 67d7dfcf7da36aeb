// `pdm train --scope`: the machines a model serves, written to contract.json; `pdm score` honours it.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture } from './test-support/capture.js';

const dir = makeTestDataDir('pdm-train-scope');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 300 s of two sensors at 1 Hz: 30 windows of 10 s. */
function smallCsv(file: string): void {
  const t0 = Date.UTC(2026, 0, 1);
  const lines = ['time,temp,vib'];
  for (let i = 0; i < 300; i++) lines.push(`${new Date(t0 + i * 1000).toISOString()},${(60 + Math.sin(i / 7)).toFixed(3)},${(2 + 0.3 * Math.cos(i / 3)).toFixed(3)}`);
  writeFileSync(file, lines.join('\n'));
}

const contractOf = (registry: string, name: string) =>
  JSON.parse(readFileSync(join(registry, name, '1', 'contract.json'), 'utf8')) as { machines?: string[] };

describe('pdm train --scope', () => {
  const csv = join(dir, 'normal.csv');
  smallCsv(csv);

  it('writes the machines of repeated and comma-separated --scope flags to contract.json and prints them', async () => {
    const registry = join(dir, 'scoped');
    const trained = capture();
    const args = ['train', '--input', csv, '--out', registry, '--name', 'pumps', '--machine', 'pump-1', '--kind', 'robust-t2'];
    expect(await main([...args, '--scope', 'pump-*', '--scope', 'press-7, press-8'], trained.context)).toBe(0);
    expect(contractOf(registry, 'pumps').machines).toEqual(['pump-*', 'press-7', 'press-8']);
    expect(trained.out.join('\n')).toMatch(/serves machines: pump-\*, press-7, press-8/);

    // pdm score honours the scope: pump-1 is served, fan-1 is not (its windows are not scored, and it says why).
    const scored = capture();
    expect(await main(['score', '--model', registry, '--input', csv, '--output', join(dir, 'pump.csv'), '--machine', 'pump-1'], scored.context)).toBe(0);
    expect(scored.out.join('\n')).toMatch(/scored 30 windows/);
    const outside = capture();
    expect(await main(['score', '--model', registry, '--input', csv, '--output', join(dir, 'fan.csv'), '--machine', 'fan-1'], outside.context)).toBe(0);
    expect(outside.out.join('\n')).toMatch(/scored 0 windows/);
    expect(outside.err.join('\n')).toMatch(/score: 30 windows not scored: no model applies: none is scoped to this machine/);
  });

  it('writes no machines without --scope, and refuses an empty pattern', async () => {
    const registry = join(dir, 'unscoped');
    const trained = capture();
    expect(await main(['train', '--input', csv, '--out', registry, '--kind', 'robust-t2'], trained.context)).toBe(0);
    expect(contractOf(registry, 'anomaly')).not.toHaveProperty('machines');
    expect(trained.out.join('\n')).not.toMatch(/serves machines/);

    const refused = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'never'), '--scope', 'pump-1,'], refused.context)).toBe(2);
    expect(refused.err.join('\n')).toMatch(/--scope needs machine ids or patterns/);
  });
});
