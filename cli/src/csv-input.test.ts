// CSV files and time flags as users give them to pdm train, score and replay: rows out of time order,
// missing-value markers, a header with a date and a time column, times without a zone on a host that
// is not on UTC, and an --out that cannot be written. Each is either read as the user meant or
// refused with exit code 2 and a message naming the flag, the file or the line.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture } from './test-support/capture.js';

const dir = mkdtempSync(join(tmpdir(), 'pdm-csv-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

async function pdm(...args: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const { context, out, err } = capture();
  const code = await main(args, context);
  return { code, out, err: err.join('\n') };
}

/** Writes `rows` under `header` to `name` in the test folder. */
function csv(name: string, rows: string[], header = 'time,temp,vib,note'): string {
  const path = join(dir, name);
  writeFileSync(path, [header, ...rows].join('\n'));
  return path;
}

/** A row of a pump at second `s` of the recording: temp and vib readings and a label. */
const row = (s: number) => `${iso(T0 + s * 1000)},${(60 + Math.sin(s / 7)).toFixed(3)},${(1 + 0.1 * Math.cos(s / 3)).toFixed(3)},ok`;
const seconds = (n: number, from = 0) => Array.from({ length: n }, (_, i) => row(from + i));

/** 60 rows in time order but for second 5 again after second 29: line 32, 24 s behind line 31. */
const unsorted = () => csv('unsorted.csv', [...seconds(30), row(5), ...seconds(30, 30)]);
const OUT_OF_ORDER = 'line 32: row out of time order, 24 s before line 31, beyond the allowed lateness of 2 s: its window had closed; sort the file by time';

/** The model the scoring tests use, and what training it printed. */
const registry = join(dir, 'models');
let trained: Awaited<ReturnType<typeof pdm>>;
beforeAll(async () => {
  // temp's first cell is NaN; note is a label.
  trained = await pdm('train', '--input', csv('normal.csv', [row(0).replace(/,[^,]+,/, ',NaN,'), ...seconds(299, 1)]), '--out', registry, '--machine', 'pump-1');
});

describe('rows out of time order', () => {
  it('pdm train and pdm score refuse the row whose window had closed, naming the file and the line', async () => {
    const input = unsorted();
    const trained = await pdm('train', '--input', input, '--out', join(dir, 'unsorted-models'));
    expect(trained.code).toBe(2);
    expect(trained.err.split('\n')).toContain(`pdm train: ${input}: ${OUT_OF_ORDER}`);
    // The scores of an earlier run stay as they were: refused half-way, the run leaves no empty or partial file.
    const previous = join(dir, 'unsorted-scores.csv');
    writeFileSync(previous, 'the scores of an earlier run\n');
    const scored = await pdm('score', '--model', registry, '--input', input, '--out', previous, '--machine', 'pump-1');
    expect(scored.code).toBe(2);
    expect(scored.err.split('\n')).toContain(`pdm score: ${input}: ${OUT_OF_ORDER}`);
    expect(readFileSync(previous, 'utf8')).toBe('the scores of an earlier run\n');
    expect(readdirSync(dir).filter((name) => name.includes('.partial-'))).toEqual([]);
  });

  it('pdm replay carries on as the gateway would and says how many rows it dropped, and the first', async () => {
    const { code, out, err } = await pdm('replay', '--input', unsorted());
    expect(code).toBe(0);
    expect(out).toHaveLength(6);
    expect(err).toMatch(/^replay: 61 rows, 120 readings of 2 sensors \(temp, vib\) → 6 windows$/m);
    expect(err.split('\n')).toContain(`replay: dropped 1 row(s), the first at ${OUT_OF_ORDER}`);
  });

  it('reads a sorted file as before', async () => {
    const { code, err } = await pdm('replay', '--input', csv('sorted.csv', seconds(60)));
    expect(code).toBe(0);
    expect(err).not.toMatch(/dropped/);
  });
});

describe('missing cells and columns not read', () => {
  it('pdm train reads a column whose first cell is NaN as a sensor, and says which columns it did not read', () => {
    expect(trained.code, trained.err).toBe(0);
    expect(trained.err).toMatch(/^train: 300 rows of 2 sensors \(temp, vib\) → 30 windows$/m);
    expect(trained.err).toMatch(/^train: ignored columns without numbers: note$/m);
  });

  it('pdm score reads NaN, NA, null and - as missing and says which columns it did not read', async () => {
    const rows = seconds(60, 400).map((r, i) => (i % 3 === 0 ? r.replace(/,[^,]+,/, `,${['NA', 'null', '-', 'NaN'][i % 4]},`) : r));
    const scores = join(dir, 'missing-scores.csv');
    const { code, err } = await pdm('score', '--model', registry, '--input', csv('missing.csv', rows), '--out', scores, '--machine', 'pump-1');
    expect(code, err).toBe(0);
    expect(err).toMatch(/^score: 60 rows of 2 sensors \(temp, vib\) → 6 windows$/m);
    expect(err).toMatch(/^score: ignored columns without numbers: note$/m);
    expect(readFileSync(scores, 'utf8').split('\n')[0]).toBe('window_start,window_end,machine,score,threshold,anomaly');
  });
});

describe('the time column', () => {
  it('is not guessed between a date and a time column: --time-column is asked for', async () => {
    const input = csv('split.csv', ['2026-01-01,00:00:00,1', '2026-01-01,00:00:01,2'], 'Date,Time,temp');
    const { code, err } = await pdm('replay', '--input', input);
    expect(code).toBe(2);
    expect(err.split('\n')[0]).toBe(
      `pdm replay: ${input}: line 1: several time columns ("Date", "Time"), one a date that may hold only the day: name the time column with --time-column`,
    );
  });
});

describe('time flags on a host whose local time is not UTC', () => {
  const tz = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'America/New_York';
  });
  afterAll(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it('--from and --until without a zone are UTC, as the CSV times; epoch ms are taken too', async () => {
    const input = csv('forty.csv', seconds(40));
    for (const [from, until] of [['2026-01-01T00:00:10', '2026-01-01 00:00:30'], [String(T0 + 10_000), String(T0 + 30_000)]]) {
      const { code, out, err } = await pdm('replay', '--input', input, '--from', from!, '--until', until!);
      expect(code, err).toBe(0);
      expect(out.map((line) => (JSON.parse(line) as { window_start: number }).window_start)).toEqual([T0 + 10_000, T0 + 20_000]);
    }
    const bad = await pdm('replay', '--input', input, '--from', 'Jan 1, 2026');
    expect([bad.code, bad.err.split('\n')[0]]).toEqual([2, 'pdm replay: --from: "Jan 1, 2026" is not an ISO-8601 time (no zone = UTC) or epoch ms/s, such as 2026-12-06T18:00:00Z']);
  });

  it('pdm alerts mute --until without a zone is UTC, and takes epoch ms', async () => {
    // A time in the past is refused before InfluxDB is asked: the message shows the instant read.
    for (const until of ['2020-01-01T12:00:00', String(Date.UTC(2020, 0, 1, 12))]) {
      const { code, err } = await pdm('alerts', 'mute', 'pump-1', '--site', 'plant-1', '--until', until, '--who', 'ana', '--influx-url', 'http://127.0.0.1:1');
      expect([code, err]).toEqual([1, 'pdm alerts: the mute would end at 2020-01-01T12:00:00.000Z, which is not in the future']);
    }
  });

  it('pdm train --from-influx sends InfluxDB the instants in UTC with their Z', async () => {
    const queries: string[] = [];
    const server: Server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        queries.push(new URLSearchParams(body).get('q') ?? '');
        response.setHeader('content-type', 'application/json');
        response.end('{"results":[{"statement_id":0}]}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const args = ['--from', '2026-01-01 00:00', '--until', String(Date.UTC(2026, 0, 2)), '--influx-url', url, '--out', join(dir, 'influx-models')];
      await pdm('train', '--from-influx', '--machine', 'pump-1', ...args);
      expect(queries.join('\n')).toContain("time >= '2026-01-01T00:00:00.000Z' AND time < '2026-01-02T00:00:00.000Z'");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('an --out that cannot be written', () => {
  it('is refused before the work, naming --out (pdm score, pdm replay)', async () => {
    const input = csv('ten.csv', seconds(10));
    const out = join(dir, 'no', 'such', 'scores.csv');
    const scored = await pdm('score', '--model', registry, '--input', input, '--out', out, '--machine', 'pump-1');
    expect([scored.code, scored.err.split('\n')[0]]).toEqual([2, `pdm score: --out: ENOENT: no such file or directory, open '${out}'`]);
    expect(scored.err).not.toMatch(/^score: \d+ rows/m); // refused before reading the CSV
    const replayed = await pdm('replay', '--input', input, '--out', out);
    expect([replayed.code, replayed.err.split('\n')[0]]).toEqual([2, `pdm replay: --out: ENOENT: no such file or directory, open '${out}'`]);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });
});
