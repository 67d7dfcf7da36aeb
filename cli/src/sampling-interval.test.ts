// The sampling `pdm train` picks its window and detector from counts the sensors the replay reads, not
// every column: a label or state column of text is no sensor there either.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { samplingOf } from './sampling-interval.js';
import { capture } from './test-support/capture.js';

const dir = makeTestDataDir('pdm-sampling');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const t0 = Date.UTC(2026, 1, 1);
const step = 300_000;

/** Rows every 5 minutes: the time, then the cells `row` gives for row i. */
function csv(name: string, header: string, rows: number, row: (i: number) => string, delimiter = ','): string {
  const file = join(dir, name);
  writeFileSync(file, [header, ...Array.from({ length: rows }, (_, i) => `${new Date(t0 + i * step).toISOString()}${delimiter}${row(i)}`)].join('\n'));
  return file;
}

const temp = (i: number) => (60 + 8 * Math.sin((2 * Math.PI * i) / 288) + 0.5 * Math.sin(i * 1.3)).toFixed(3);

describe('the sampling of a CSV', () => {
  it('counts the columns the replay reads as sensors: not text, not a column without a name or a value', async () => {
    const file = csv('labelled.csv', 'time,temp,status,label,empty,', 10, (i) => `${temp(i)},running,"normal, checked",NA,`);
    expect(await samplingOf(file, { machineId: 'oven' })).toEqual({ intervalMs: step, sensors: ['temp'] });
  });

  it('reads decimal commas as the replay does when the delimiter is not a comma, and a numeric label column as a sensor, as training does', async () => {
    const semicolons = csv('semicolons.csv', 'time;temp;state', 10, (i) => `${temp(i).replace('.', ',')};on`, ';');
    expect(await samplingOf(semicolons, { machineId: 'oven', delimiter: ';' })).toEqual({ intervalMs: step, sensors: ['temp'] });
    const numericLabel = csv('numeric-label.csv', 'time,temp,anomaly', 10, (i) => `${temp(i)},0`);
    expect((await samplingOf(numericLabel, { machineId: 'oven' })).sensors).toEqual(['temp', 'anomaly']);
  });

  it('samples the first rows however a stray quote in a field reads: a label 12" valve does not make it read the whole file', async () => {
    // 12,000 rows every 5 minutes, then 30,000 every minute: the sample, 10,000 rows and at most 1,000
    // more to close a quoted field, sees 5-minute gaps only; the whole file would be mostly 1-minute ones.
    const file = join(dir, 'stray-quote.csv');
    const lines = ['time,temp,label'];
    for (let i = 0; i < 12_000; i++) lines.push(`${new Date(t0 + i * step).toISOString()},${temp(i)},${i === 3 ? '12" valve' : 'ok'}`);
    const later = t0 + 12_000 * step;
    for (let i = 0; i < 30_000; i++) lines.push(`${new Date(later + i * 60_000).toISOString()},${temp(i)},ok`);
    writeFileSync(file, lines.join('\n'));
    expect(await samplingOf(file, { machineId: 'oven' })).toEqual({ intervalMs: step, sensors: ['temp'] });
  });

  it('gives one slow sensor beside text columns one reading per window and the adaptive-z detector', async () => {
    // Two days of a temperature every 5 minutes, with a machine state and an operator's label in text.
    const file = csv('oven.csv', 'timestamp,temp,status,label', 2 * 288, (i) => `${temp(i)},${i % 50 === 0 ? 'idle' : 'running'},normal`);
    const { context, out, err } = capture();
    expect(await main(['train', '--input', file, '--out', join(dir, 'models')], context)).toBe(0);
    expect(err.join('\n')).toMatch(/train: a reading every 300000 ms: window 300000 ms, one reading per window/);
    expect(err.join('\n')).toMatch(/ignored columns without numbers: status, label/);
    expect(out.join('\n')).toMatch(/model anomaly version 1 \(adaptive-z\) written to/);
  });
});
