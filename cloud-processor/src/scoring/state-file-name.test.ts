// A state file moved from the name an older release gave it (`pdm start`: scorer-state.json, an SQLite
// database since format 3) to its new one: whatever it holds arrives, the saves still in its WAL included.
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BaselineState } from '../model/robust-t2.js';
import { encodeFormat2StateFile } from '../test-support/format2-state-file.js';
import { emptyStateSources, readStateFile, renameStateFile, StateFile } from './state-file.js';

const DAY = 86_400_000;
const MODEL = { name: 'level', version: '1', createdAt: '2026-12-05T10:00:00.000Z' };
const OLD = 'scorer-state.json';
const NEW = 'scorer-state.sqlite';

let temp: string;
let run = 0;
beforeAll(async () => {
  temp = await mkdtemp(path.join(os.tmpdir(), 'pdm-state-name-'));
});
afterAll(() => rm(temp, { recursive: true, force: true }));

/** A new data folder's processor folder, created. */
async function processorDir(): Promise<string> {
  const dir = path.join(temp, `data-${++run}`, 'processor');
  await mkdir(dir, { recursive: true });
  return dir;
}


const baseline = (decidedUntil: number): BaselineState => ({ baseline: [1, 2], decidedUntil, recent: [] });

/** Each robust-t2 machine's decidedUntil in the file. */
function decided(file: string): Record<string, number> {
  return Object.fromEntries(readStateFile(file).robustT2.map((e) => [e.machineId, e.state.decidedUntil]));
}

/**
 * The files a processor killed after two saves leaves under the old name in `dir`: the second save
 * (machine b at 40 days) only in the WAL. Copied while the saving connection is open, as a kill leaves them.
 */
async function killedAfterTwoSaves(dir: string): Promise<void> {
  const live = await processorDir();
  const states = emptyStateSources();
  const machines = states.robustT2.of(MODEL);
  for (const id of ['a', 'b', 'c']) machines.get('s', id, () => baseline(0));
  const stateFile = new StateFile(path.join(live, OLD));
  stateFile.save(states, 1);
  machines.get('s', 'b', () => baseline(0)).decidedUntil = 40 * DAY;
  stateFile.save(states, 2);
  for (const suffix of ['', '-wal', '-shm']) await copyFile(path.join(live, `${OLD}${suffix}`), path.join(dir, `${OLD}${suffix}`));
  stateFile.close();
}

describe('a state file under the name an older release gave it', () => {
  it('of format 3, left by a killed processor, moves with its WAL: every machine as last saved', async () => {
    const dir = await processorDir();
    await killedAfterTwoSaves(dir);
    expect((await stat(path.join(dir, `${OLD}-wal`))).size).toBeGreaterThan(0);

    expect(renameStateFile(path.join(dir, OLD), path.join(dir, NEW))).toBe(true);
    const { stateFile, state, migrated } = StateFile.open(path.join(dir, NEW), 3);
    stateFile.close();
    expect(migrated).toBe(false);
    expect(Object.fromEntries(state.robustT2.map((e) => [e.machineId, e.state.decidedUntil]))).toEqual({ a: 0, b: 40 * DAY, c: 0 });
    // Closed, SQLite has copied the WAL into the database and removed it: nothing is left of the old name.
    expect(await readdir(dir)).toEqual([NEW]);
  });

  it('moved part-way (its WAL already, a crash before the database) is finished by the next start', async () => {
    const dir = await processorDir();
    await killedAfterTwoSaves(dir);
    for (const suffix of ['-shm', '-wal']) await rename(path.join(dir, `${OLD}${suffix}`), path.join(dir, `${NEW}${suffix}`));

    expect(renameStateFile(path.join(dir, OLD), path.join(dir, NEW))).toBe(true);
    expect(decided(path.join(dir, NEW))).toEqual({ a: 0, b: 40 * DAY, c: 0 });
    expect((await readdir(dir)).sort()).toEqual([NEW, `${NEW}-shm`, `${NEW}-wal`]);
  });

  it('whose move fails part-way leaves no database under the new name, and a retry brings every machine as last saved', async () => {
    const dir = await processorDir();
    await killedAfterTwoSaves(dir);
    // A non-empty folder where the shared-memory file goes: its rename throws after the WAL's.
    await mkdir(path.join(dir, `${NEW}-shm`, 'obstacle'), { recursive: true });

    expect(() => renameStateFile(path.join(dir, OLD), path.join(dir, NEW))).toThrow();
    // Had the database moved first, it would be under the new name without its WAL's saves.
    expect((await readdir(dir)).sort()).toEqual([OLD, `${OLD}-shm`, `${NEW}-shm`, `${NEW}-wal`]);

    await rm(path.join(dir, `${NEW}-shm`), { recursive: true });
    expect(renameStateFile(path.join(dir, OLD), path.join(dir, NEW))).toBe(true);
    expect(decided(path.join(dir, NEW))).toEqual({ a: 0, b: 40 * DAY, c: 0 });
  });

  it('of format 2 (JSON) moves as it is and is migrated when opened under the new name', async () => {
    const dir = await processorDir();
    const entry = { model: MODEL.name, version: MODEL.version, trainedAt: MODEL.createdAt, siteId: 's' };
    const saved = {
      robustT2: [{ ...entry, machineId: 'a', state: baseline(7 * DAY) }, { ...entry, machineId: 'b', state: { baseline: [3, -0.5], decidedUntil: 9 * DAY, recent: [{ windowEnd: 9 * DAY, baseline: [3, -0.5], threshold: 12.5 }] } }],
      adaptiveZ: [],
      pcaThresholds: [],
      autoencoderThresholds: [],
      gates: [{ ...entry, machineId: 'a', state: { previous: [0.25, 4], previousEnd: 7 * DAY, settleLeft: 2, recent: [] } }],
    };
    const json = encodeFormat2StateFile(saved, 1);
    await writeFile(path.join(dir, OLD), json);

    expect(renameStateFile(path.join(dir, OLD), path.join(dir, NEW))).toBe(true);
    expect(await readdir(dir)).toEqual([NEW]);
    expect(await readFile(path.join(dir, NEW), 'utf8')).toBe(json);
    const { stateFile, state, migrated } = StateFile.open(path.join(dir, NEW), 2);
    stateFile.close();
    expect(migrated).toBe(true);
    expect(state).toEqual(saved);
  });

  it('stays where it is when the new name holds a file already, and nothing is made when there is none', async () => {
    const dir = await processorDir();
    await writeFile(path.join(dir, OLD), 'old');
    await writeFile(path.join(dir, NEW), 'new');
    expect(renameStateFile(path.join(dir, OLD), path.join(dir, NEW))).toBe(false);
    expect(await readFile(path.join(dir, OLD), 'utf8')).toBe('old');
    expect(await readFile(path.join(dir, NEW), 'utf8')).toBe('new');

    const empty = await processorDir();
    expect(renameStateFile(path.join(empty, OLD), path.join(empty, NEW))).toBe(false);
    expect(await readdir(empty)).toEqual([]);
  });
});
