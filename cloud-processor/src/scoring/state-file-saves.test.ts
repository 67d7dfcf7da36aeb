// How the state file saves: only the machines scored since the previous save, in one transaction, the
// rows of forgotten machines deleted; what it refuses on open, and the rows it keeps aside; a kill during
// saves.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GateState } from '../model/regime.js';
import type { BaselineState } from '../model/robust-t2.js';
import { encodeFormat2StateFile } from '../test-support/format2-state-file.js';
import { emptyScorerState, encodeRowState, decodeRowState } from './state-codec.js';
import { emptyStateSources, readStateFile, setAside, StateFile } from './state-file.js';

const DAY = 86_400_000;
const MODEL = { name: 'level', version: '1', createdAt: '2026-12-05T10:00:00.000Z' };

let temp: string;
let run = 0;
beforeAll(async () => {
  temp = await mkdtemp(path.join(os.tmpdir(), 'pdm-state-saves-'));
});
afterAll(() => rm(temp, { recursive: true, force: true }));
const nextFile = (): string => path.join(temp, `state-${++run}`, 'scorer-state.json');


const baseline = (decidedUntil: number): BaselineState => ({ baseline: [1, 2], decidedUntil, recent: [] });

/** Each robust-t2 machine's decidedUntil in the file. */
function decided(file: string): Record<string, number> {
  return Object.fromEntries(readStateFile(file).robustT2.map((e) => [e.machineId, e.state.decidedUntil]));
}

describe('a state file row', () => {
  it('holds every double exactly: NaN, ±Infinity, -0, the smallest and largest', () => {
    const awkward = [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE, Number.MAX_VALUE, 0.1 + 0.2];
    const state: BaselineState = { baseline: awkward, decidedUntil: Number.NEGATIVE_INFINITY, recent: [{ windowEnd: 5, baseline: awkward, threshold: 3 }] };
    const back = decodeRowState('robust-t2', encodeRowState(state));
    expect(back).toEqual(state);
    expect(Object.is(back.baseline[1], -0)).toBe(true);
  });

  it('refuses what is not a state of its kind, naming the field', () => {
    expect(() => decodeRowState('gate', encodeRowState({ previous: ['one'], previousEnd: 0, settleLeft: 0, recent: [] }))).toThrow(/not a state of kind gate[\s\S]*previous/);
    expect(() => decodeRowState('adaptive-z', encodeRowState(baseline(0)))).toThrow(/not a state of kind adaptive-z/);
  });
});

describe('a save', () => {
  it('writes only the machines scored since the previous save, and deletes the rows of machines forgotten since', () => {
    const file = nextFile();
    const states = emptyStateSources();
    const machines = states.robustT2.of(MODEL);
    for (const id of ['a', 'b', 'c']) machines.get('s', id, () => baseline(0));
    const stateFile = new StateFile(file);
    expect(stateFile.save(states, 1)).toEqual({ written: 3, deleted: 0 });
    expect(stateFile.save(states, 2)).toEqual({ written: 0, deleted: 0 });
    machines.get('s', 'b', () => baseline(0)).decidedUntil = 40 * DAY;
    expect(stateFile.save(states, 3)).toEqual({ written: 1, deleted: 0 });
    expect(decided(file)).toEqual({ a: 0, b: 40 * DAY, c: 0 });
    expect(states.robustT2.forgetSilent(30 * DAY, Date.now())).toBe(2);
    expect(stateFile.save(states, 4)).toEqual({ written: 0, deleted: 2 });
    stateFile.close();
    expect(decided(file)).toEqual({ b: 40 * DAY });
    // Opened again, it knows its rows: a machine forgotten later is deleted too.
    const reopened = StateFile.open(file, 5);
    const again = emptyStateSources();
    again.robustT2.restore(reopened.state.robustT2);
    expect(again.robustT2.takeChanged()).toEqual([]);
    again.robustT2.retainOnly([], []);
    expect(reopened.stateFile.save(again, 6)).toEqual({ written: 0, deleted: 1 });
    reopened.stateFile.close();
    expect(decided(file)).toEqual({});
  });

  it('that fails leaves every machine at the previous save, and the next save writes every machine', () => {
    const file = nextFile();
    const states = emptyStateSources();
    const machines = states.robustT2.of(MODEL);
    for (const id of ['a', 'b']) machines.get('s', id, () => baseline(0));
    const stateFile = new StateFile(file);
    stateFile.save(states, 1);
    machines.get('s', 'a', () => baseline(0)).decidedUntil = 7;
    // b, after a in the save, cannot be encoded: the save fails after writing a's row.
    const b = machines.get('s', 'b', () => baseline(0)) as BaselineState & { broken?: () => void };
    b.broken = () => undefined;
    expect(() => stateFile.save(states, 2)).toThrow(/could not be cloned/);
    expect(decided(file)).toEqual({ a: 0, b: 0 });
    delete b.broken;
    b.decidedUntil = 9;
    expect(stateFile.save(states, 3)).toEqual({ written: 2, deleted: 0 });
    expect(stateFile.save(states, 4)).toEqual({ written: 0, deleted: 0 });
    stateFile.close();
    expect(decided(file)).toEqual({ a: 7, b: 9 });
  });
});

describe('opening a state file', () => {
  it('refuses a database of another format, naming it; set aside with its WAL', async () => {
    const other = nextFile();
    const states = emptyStateSources();
    states.robustT2.of(MODEL).get('s', 'a', () => baseline(0));
    // Left open, as a killed processor leaves it: its WAL and shared-memory files beside it.
    const killed = new StateFile(other);
    expect(killed.save(states, 1)).toEqual({ written: 1, deleted: 0 });
    const db = new Database(other);
    db.pragma('user_version = 4');
    db.close();
    expect(() => StateFile.open(other, 0)).toThrow(/a scorer state file of format 4; this processor reads format 3/);
    expect((await readdir(path.dirname(other))).sort()).toEqual(['scorer-state.json', 'scorer-state.json-shm', 'scorer-state.json-wal']);
    expect(await setAside(other, 42)).toBe(`${other}.unreadable-42`);
    expect((await readdir(path.dirname(other))).sort()).toEqual(['scorer-state.json.unreadable-42', 'scorer-state.json.unreadable-42-shm', 'scorer-state.json.unreadable-42-wal']);
    killed.close();
  });

  it('keeps aside each row that is not a state it knows, with the reason, restores every other machine, and no later save overwrites a kept row', () => {
    const file = nextFile();
    const states = emptyStateSources();
    for (const id of ['a', 'b']) states.robustT2.of(MODEL).get('s', id, () => baseline(id === 'a' ? 1 : 2));
    const gate: GateState = { previous: [880.5], previousEnd: 10, settleLeft: 2, recent: [{ windowEnd: 10, hold: 'transient' }] };
    states.gates.of(MODEL).get('s', 'b', () => gate);
    const written = new StateFile(file);
    written.save(states, 1);
    written.close();
    // b's baseline as a newer release writes it (a field added), and a kind a newer release added.
    const newer = encodeRowState({ ...baseline(2), addedLater: 1 });
    const forecast = encodeRowState({ horizon: 3 });
    const tamper = new Database(file);
    tamper.prepare("UPDATE machine_state SET state = ? WHERE kind = 'robust-t2' AND machine_id = 'b'").run(newer);
    tamper.prepare("INSERT INTO machine_state VALUES ('forecast', 'level', '1', ?, 's', 'c', 1, ?)").run(MODEL.createdAt, forecast);
    tamper.close();

    const { stateFile, state, keptAside } = StateFile.open(file, 5);
    const key = { model: MODEL.name, version: MODEL.version, trainedAt: MODEL.createdAt, siteId: 's' };
    expect(state).toEqual({ ...emptyScorerState(), robustT2: [{ ...key, machineId: 'a', state: baseline(1) }], gates: [{ ...key, machineId: 'b', state: gate }] });
    expect(keptAside.sort((x, y) => x.machineId.localeCompare(y.machineId))).toEqual([
      { kind: 'robust-t2', ...key, machineId: 'b', reason: expect.stringMatching(/not a state of kind robust-t2[\s\S]*addedLater/) as string },
      { kind: 'forecast', ...key, machineId: 'c', reason: 'unknown kind "forecast"' },
    ]);
    // b starts afresh and is saved under the key of its kept row: that row stays as it was.
    const restored = emptyStateSources();
    restored.robustT2.restore(state.robustT2);
    restored.gates.restore(state.gates);
    restored.robustT2.of(MODEL).get('s', 'b', () => baseline(9));
    expect(stateFile.save(restored, 6)).toEqual({ written: 1, deleted: 0 });
    stateFile.close();
    expect(decided(file)).toEqual({ a: 1, b: 9 });
    const read = new Database(file, { readonly: true });
    const kept = read.prepare('SELECT kind, machine_id, saved_at, state, set_aside_at FROM machine_state_unreadable ORDER BY machine_id').all();
    read.close();
    expect(kept).toEqual([
      { kind: 'robust-t2', machine_id: 'b', saved_at: 1, state: newer, set_aside_at: 5 },
      { kind: 'forecast', machine_id: 'c', saved_at: 1, state: forecast, set_aside_at: 5 },
    ]);
    // Opened again: nothing left to keep aside, so nothing said again.
    const reopened = StateFile.open(file, 7);
    reopened.stateFile.close();
    expect(reopened.keptAside).toEqual([]);
    expect(reopened.state.robustT2.map((e) => [e.machineId, e.state.decidedUntil])).toEqual([['a', 1], ['b', 9]]);
  });

  it('of format 2 whose migration fails part-way leaves the JSON as it was and nothing beside it; set aside alone', async () => {
    const file = nextFile();
    await mkdir(path.dirname(file), { recursive: true });
    const entry = { model: MODEL.name, version: MODEL.version, trainedAt: MODEL.createdAt, siteId: 's', machineId: 'a', state: baseline(0) };
    // Machine s/a twice: its second row is refused by the table's key, after the first was inserted.
    const json = encodeFormat2StateFile({ ...emptyScorerState(), robustT2: [entry, { ...entry, state: baseline(5) }] }, 1);
    await writeFile(file, json);
    expect(() => StateFile.open(file, 2)).toThrow(/UNIQUE constraint failed: machine_state/);
    expect(await readdir(path.dirname(file))).toEqual(['scorer-state.json']);
    expect(await readFile(file, 'utf8')).toBe(json);
    // Opened again, the same failure, and still nothing beside it.
    expect(() => StateFile.open(file, 3)).toThrow(/UNIQUE constraint failed: machine_state/);
    expect(await readdir(path.dirname(file))).toEqual(['scorer-state.json']);
    expect(await setAside(file, 42)).toBe(`${file}.unreadable-42`);
    expect(await readdir(path.dirname(file))).toEqual(['scorer-state.json.unreadable-42']);
    expect(await readFile(`${file}.unreadable-42`, 'utf8')).toBe(json);
  });
});

describe('a processor killed during saves', () => {
  it('leaves a file that opens with every machine at the same save: never a torn one', async () => {
    const dist = fileURLToPath(new URL('../../dist/scoring/', import.meta.url));
    expect(existsSync(path.join(dist, 'state-file.js')), `${dist} is missing: build @pdm/cloud-processor first`).toBe(true);
    const file = nextFile();
    // Every save writes all 300 machines at the save's generation (~10 MB): the kill lands inside one.
    const script = `
      import { emptyStateSources, StateFile } from ${JSON.stringify(path.join(dist, 'state-file.js'))};
      const states = emptyStateSources();
      const machines = states.robustT2.of(${JSON.stringify(MODEL)});
      const stateFile = new StateFile(${JSON.stringify(file)});
      for (let generation = 1; ; generation++) {
        for (let i = 0; i < 300; i++) machines.get('s', 'm-' + i, () => ({ baseline: [], decidedUntil: 0, recent: [], pending: [new Array(4000).fill(0.5)] })).decidedUntil = generation;
        stateFile.save(states, generation);
        process.stdout.write(generation + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let saves = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        saves = Math.max(saves, ...chunk.toString().trim().split('\n').map(Number));
        if (saves >= 3) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the saving child exited (${code}) before 3 saves`)));
    });
    child.kill('SIGKILL');
    await exited;
    const saved = readStateFile(file).robustT2;
    expect(saved).toHaveLength(300);
    const generations = new Set(saved.map((e) => e.state.decidedUntil));
    expect(generations.size).toBe(1);
    expect([...generations][0]).toBeGreaterThanOrEqual(3);
  });
});
