import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CloseReason, MachineWindowSchema, toBinary } from '@pdm/proto';
import type { MachineWindow } from '@pdm/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@pdm/clock';
import { WindowEngine } from '../window/index.js';
import { replayCsv } from './replay.js';
import type { ReplayOptionsInput, ReplayProgress } from './index.js';
import { ReplayError } from './replay-error.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pdm-replay-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;
async function csvFile(text: string): Promise<string> {
  const path = join(dir, `data-${++fileCount}.csv`);
  await writeFile(path, text);
  return path;
}

async function replay(input: string, options: Partial<ReplayOptionsInput> = {}) {
  const windows: MachineWindow[] = [];
  const progress: ReplayProgress[] = [];
  const summary = await replayCsv(input, { machineId: 'pump-1', ...options }, {
    onWindow: (w) => {
      windows.push(w);
    },
    onProgress: (p) => progress.push(p),
  });
  return { windows, summary, progress };
}

function hex(windows: MachineWindow[]): string[] {
  return windows.map((w) => Buffer.from(toBinary(MachineWindowSchema, w)).toString('hex'));
}

const BASE = Date.UTC(2024, 2, 1, 12); // aligned to 10 s
/** One reading of temp and vib every 2.5 s for 30 s; vib missing every fourth row. */
const SAMPLES = Array.from({ length: 12 }, (_, i) => ({
  ts: BASE + i * 2_500,
  temp: 60 + i * 0.25,
  vib: i % 4 === 3 ? undefined : (i % 3) - 1,
}));

function csvOf(formatTime: (ts: number) => string, delimiter = ','): string {
  const rows = SAMPLES.map((s) => [formatTime(s.ts), String(s.temp), s.vib === undefined ? '' : String(s.vib)].join(delimiter));
  return [['time', 'temp', 'vib'].join(delimiter), ...rows].join('\n') + '\n';
}

describe('replayCsv', () => {
  it('gives the same windows for ISO without zone (UTC), ISO with zone, epoch ms and epoch s', async () => {
    const iso = await replay(await csvFile(csvOf((ts) => new Date(ts).toISOString().replace('Z', ''))));
    const zoned = await replay(await csvFile(csvOf((ts) => new Date(ts + 7_200_000).toISOString().replace('Z', '+02:00'))));
    const ms = await replay(await csvFile(csvOf(String)));
    const seconds = await replay(await csvFile(csvOf((ts) => String(ts / 1000))));
    expect(iso.windows.map((w) => Number(w.windowStart))).toEqual([BASE, BASE + 10_000, BASE + 20_000]);
    for (const other of [zoned, ms, seconds]) expect(hex(other.windows)).toEqual(hex(iso.windows));
  });

  it('closes covered windows by WATERMARK and the trailing partial one as SHUTDOWN; empty cells are missing', async () => {
    const { windows, summary } = await replay(await csvFile(csvOf(String)));
    expect(windows.map((w) => w.closeReason)).toEqual([CloseReason.WATERMARK, CloseReason.WATERMARK, CloseReason.SHUTDOWN]);
    expect(windows[0]?.sensors.map((s) => [s.sensorId, s.count])).toEqual([['temp', 4], ['vib', 3]]);
    expect(windows[0]?.machineId).toBe('pump-1');
    expect(summary).toMatchObject({ timeColumn: 'time', sensors: ['temp', 'vib'], rows: 12, readings: 21, badRows: 0, outOfOrderRows: 0 });
  });

  it('equals feeding the same readings to the window engine directly', async () => {
    const { windows } = await replay(await csvFile(csvOf(String)), { engine: { windowMs: 5_000, sensorRates: { temp: 0.4 } } });
    const direct: MachineWindow[] = [];
    const clock = new ManualClock(BASE);
    const engine = new WindowEngine(
      { gatewayId: 'replay', siteId: 'replay', windowMs: 5_000, sensorRates: { temp: 0.4 }, clock, stampClosedAt: false },
      (w) => direct.push(w),
    );
    for (const s of SAMPLES) {
      engine.add('pump-1', 'temp', s.ts, s.temp);
      if (s.vib !== undefined) engine.add('pump-1', 'vib', s.ts, s.vib);
    }
    engine.endOfStream();
    expect(windows.length).toBe(6);
    expect(hex(windows)).toEqual(hex(direct));
    expect(windows.every((w) => w.closedAt === 0n)).toBe(true); // the data's time is no close time
  });

  it('reads a custom delimiter, a named time column not in first place, quoted fields and ignores label columns', async () => {
    const text = [
      'state;"motor; current";Recorded At;temp',
      'run;"1.5";2024-03-01T12:00:01Z;"60"',
      '"stop; manual";2.5;2024-03-01T12:00:02Z;61',
      'run;;2024-03-01T12:00:03Z;62',
    ].join('\r\n');
    const { windows, summary } = await replay(await csvFile(text), { delimiter: ';', timeColumn: 'Recorded At' });
    expect(summary).toMatchObject({ sensors: ['motor; current', 'temp'], ignoredColumns: ['state'], readings: 5 });
    expect(windows[0]?.sensors.map((s) => [s.sensorId, s.count, s.mean])).toEqual([['motor; current', 2, 2], ['temp', 3, 61]]);
  });

  it('reads decimal commas in a file delimited by something else (a European spreadsheet export)', async () => {
    const text = ['time;temp;vib', '2024-03-01T12:00:01Z;1,5;-0,25', '2024-03-01T12:00:02Z;2,5;,75', '2024-03-01T12:00:03Z;3.5;1,25e1'].join('\n');
    const { windows, summary } = await replay(await csvFile(text), { delimiter: ';' });
    expect(summary).toMatchObject({ sensors: ['temp', 'vib'], ignoredColumns: [], readings: 6 });
    // temp (1.5 + 2.5 + 3.5) / 3 = 2.5; vib (-0.25 + 0.75 + 12.5) / 3 = 13 / 3.
    expect(windows[0]?.sensors.map((s) => [s.sensorId, s.count, s.mean])).toEqual([['temp', 3, 2.5], ['vib', 3, 13 / 3]]);
    // With the comma as delimiter a quoted "1,5" stays ambiguous (1,500?): not a number, the line named.
    await expect(replay(await csvFile('time,v\n1709294400,1\n1709294401,"1,5"\n'))).rejects.toMatchObject({ code: 'bad_value', line: 3 });
    // A thousands separator with the decimal comma (1.234,5) is no number either: refused with its line.
    await expect(replay(await csvFile('time;v\n1709294400;1,5\n1709294401;1.234,5\n'), { delimiter: ';' })).rejects.toMatchObject({ code: 'bad_value', line: 3 });
  });

  it('auto-detects the time column by name, case-insensitively', async () => {
    const { summary } = await replay(await csvFile('value,Timestamp\n1,1709294400000\n'));
    expect(summary).toMatchObject({ timeColumn: 'Timestamp', sensors: ['value'] });
  });

  it('takes the time column by its name\'s preference, and will not guess between a date and another time column', async () => {
    const { summary } = await replay(await csvFile('ts,timestamp,v\n7,1709294400000,1\n'));
    expect(summary).toMatchObject({ timeColumn: 'timestamp', sensors: ['ts', 'v'] });
    const split = replay(await csvFile('Date,Time,temp\n2024-03-01,12:00:00,1\n2024-03-01,12:00:01,2\n'));
    await expect(split).rejects.toMatchObject({ code: 'no_time_column', line: 1 });
    await expect(split).rejects.toThrow('line 1: several time columns ("Date", "Time"), one a date that may hold only the day: name the time column with --time-column');
    const named = await replay(await csvFile('Date,Time,temp\n2024-03-01,2024-03-01T12:00:00,1\n'), { timeColumn: 'Time' });
    expect(named.summary).toMatchObject({ timeColumn: 'Time', sensors: ['temp'], ignoredColumns: ['Date'] });
  });

  it('reads NaN, NA, N/A, null and - as missing wherever they stand, and decides a column by its values', async () => {
    const text = [
      'time,temp,vib,state,spare',
      '1709294400,NaN,0.25,NA,',
      '1709294401,61,na,run,null',
      '1709294402,N/A,0.5,-,-',
      '1709294403,63,NULL,stop,NaN',
      '1709294404,-,0.75,run,n/a',
    ].join('\n');
    const { windows, summary } = await replay(await csvFile(text));
    expect(summary).toMatchObject({ sensors: ['temp', 'vib'], ignoredColumns: ['state', 'spare'], readings: 5 });
    expect(windows[0]?.sensors.map((s) => [s.sensorId, s.count, s.mean])).toEqual([['temp', 2, 62], ['vib', 3, 0.5]]);
  });

  it('fails on a header without a time column', async () => {
    await expect(replay(await csvFile('a,b\n1,2\n'))).rejects.toMatchObject({ code: 'no_time_column', line: 1 });
    await expect(replay(await csvFile('a,b\n1,2\n'), { timeColumn: 'when' })).rejects.toThrow(/column "when"/);
  });

  it.each([
    ['unparsable time', 'time,v,note\n1709294400,1,"two\nlines"\nsoon,3,x\n', 'bad_time', 4, /unparsable time "soon" in column "time"/],
    ['wrong column count', 'time,v\n1709294400,1\n1709294401,2,3\n', 'column_count', 3, /expected 2 fields .* found 3/],
    ['non-numeric value', 'time,v\n1709294400,1\n1709294401,abc\n', 'bad_value', 3, /"abc" in numeric column "v"/],
    // The gateway's bound: a window's fourth powers of it would overflow, every statistic NaN.
    ['value beyond ±1e70', 'time,v\n1709294400,1\n1709294401,-1e300\n', 'bad_value', 3, /"-1e300" in numeric column "v" is not a finite number within ±1e\+70/],
  ])('stops at a bad row (%s) with a ReplayError naming its line', async (_name, text, code, line, message) => {
    const failure = replay(await csvFile(text));
    await expect(failure).rejects.toBeInstanceOf(ReplayError);
    await expect(failure).rejects.toMatchObject({ code, line });
    await expect(failure).rejects.toThrow(message);
  });

  it("with onBadRow 'skip' drops bad rows whole, counts them and keeps examples", async () => {
    const text = 'time,a,b\n1709294400,1,1\n1709294401,2,oops\nnever,3,3\n1709294402,4,4\n';
    const { windows, summary } = await replay(await csvFile(text), { onBadRow: 'skip' });
    expect(summary.badRows).toBe(2);
    expect(summary.badRowExamples.map((e) => [e.code, e.line])).toEqual([['bad_value', 3], ['bad_time', 4]]);
    expect(windows[0]?.sensors.map((s) => [s.sensorId, s.count])).toEqual([['a', 2], ['b', 2]]);
  });

  it('reports progress up to the whole file, and replays a stream too', async () => {
    const text = csvOf(String);
    const fromFile = await replay(await csvFile(text));
    const last = fromFile.progress.at(-1);
    expect(last).toEqual({ rows: 12, bytesRead: Buffer.byteLength(text), bytesTotal: Buffer.byteLength(text) });
    const windows: MachineWindow[] = [];
    const chunks = text.match(/[\s\S]{1,7}/g) ?? [];
    await replayCsv(Readable.from(chunks.map((c) => Buffer.from(c))), { machineId: 'pump-1' }, { onWindow: (w) => void windows.push(w) });
    expect(hex(windows)).toEqual(hex(fromFile.windows));
  });

  it('counts readings beyond the lateness as late, as the live gateway would, and names the first such row', async () => {
    const text = 'time,v\n1709294400000,1\n1709294415000,2\n1709294401000,3\n1709294402000,4\n';
    const { summary, windows } = await replay(await csvFile(text));
    expect(summary.engine.lateReadings).toBe(2);
    expect(windows[0]?.sensors[0]?.count).toBe(1);
    expect(summary).toMatchObject({ rows: 4, readings: 2, outOfOrderRows: 2 });
    expect(summary.firstOutOfOrderRow?.message).toBe(
      'line 4: row out of time order, 14 s before line 3, beyond the allowed lateness of 2 s: its window had closed; sort the file by time',
    );
    // lateMode 'revise' folds each late reading into its window, emitted again: nothing is dropped.
    const revised = await replay(await csvFile(text), { engine: { lateMode: 'revise' }, onOutOfOrderRow: 'fail' });
    expect(revised.summary).toMatchObject({ readings: 4, outOfOrderRows: 0 });
    expect(revised.windows.map((w) => [w.revision, w.sensors[0]?.count])).toEqual([[0, 1], [1, 2], [2, 3], [0, 1]]);
  });

  it("with onOutOfOrderRow 'fail' stops at the first row whose window had closed, and takes rows out of order before that", async () => {
    // 00:00:00, 00:00:20, 00:00:05: the third row's window [0 s, 10 s) closed at 00:00:12 + 2 s of lateness.
    const late = replay(await csvFile('time,v\n2024-03-01T12:00:00,1\n2024-03-01T12:00:20,2\n2024-03-01T12:00:05,3\n'), { onOutOfOrderRow: 'fail' });
    await expect(late).rejects.toMatchObject({ code: 'out_of_order', line: 4 });
    await expect(late).rejects.toThrow('line 4: row out of time order, 15 s before line 3, beyond');
    // 00:00:09 then 00:00:01: its window is still open, so the row counts.
    const { windows, summary } = await replay(await csvFile('time,v\n1709294400,1\n1709294409,2\n1709294401,3\n'), { onOutOfOrderRow: 'fail' });
    expect([summary.outOfOrderRows, windows[0]?.sensors[0]?.count]).toEqual([0, 3]);
  });
});
