// The stateful kinds' per-machine states across a restart: the scorer's state file.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '@pdm/clock';
import type { MachineWindow } from '@pdm/proto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WindowScore } from '../model/api.js';
import type { ModelKind } from '../model/artifact-schemas.js';
import type { ModelLogger } from '../model/logger.js';
import { currentThreshold, initialOnlineThreshold, learnOnlineThreshold, type OnlineThresholdState } from '../model/online-threshold.js';
import type { BaselineState } from '../model/robust-t2.js';
import { levelMachineWindows } from '../test-support/level-machine.js';
import { scoresOf } from '../test-support/scores-of.js';
import { gpdSampler } from '../test-support/seeded-samplers.js';
import { giveSlowBaseline } from '../test-support/slow-baseline.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer, type ModelScorer, type ScorerOptions } from './scorer.js';
import { encodeFormat2StateFile } from '../test-support/format2-state-file.js';
import { decodeJsonStateFile, emptyScorerState, encodeRowState, type ScorerState } from './state-codec.js';
import { readStateFile } from './state-file.js';

const TRAIN_START = 1_700_000_000_000;
const LIVE_START = TRAIN_START + 86_400_000;

/** An hour without windows after the 10th of each machine (a robust-t2 baseline is less sure of the level after it). */
const GAP_AFTER = 10;
const GAP_MS = 3_600_000;

/**
 * 40 windows of two machines (at two sites), interleaved: sensor a drifts by 1% and then steps up 10%,
 * with an hour's gap after the 10th.
 */
function liveWindows(): MachineWindow[] {
  const offsetA = (w: number) => (w >= 30 ? 10 : w / 30);
  const machine = (seed: number, machineId: string) =>
    levelMachineWindows({ seed, windows: 40, startMs: LIVE_START, machineId, offsetA }).map((w, i) =>
      i < GAP_AFTER ? w : { ...w, windowStart: w.windowStart + BigInt(GAP_MS), windowEnd: w.windowEnd + BigInt(GAP_MS) },
    );
  const one = machine(2, 'm-1');
  const other = machine(3, 'm-2');
  return one.flatMap((w, i) => [w, other[i]!]);
}

describe('a state file of format 2 (JSON, read to migrate it)', () => {
  it('writes NaN and ±Infinity as strings and reads them back as numbers, each entry with its kind', () => {
    const history = {
      features: [{ point: { count: 2, mean: 1.5, variance: 0.25 }, short: { count: 0, mean: 0, variance: 0 }, seasonal: { count: 0, mean: 0, variance: 0 }, values: [1, 2], shortMeans: [Number.NaN, 1.5], seasonalReferences: [], seasonalDiffs: [Number.NaN] }],
      decidedUntil: Number.NEGATIVE_INFINITY,
      recent: [],
    };
    const baseline = { baseline: [Number.POSITIVE_INFINITY, 0.1 + 0.2], decidedUntil: 5, recent: [{ windowEnd: 5, baseline: [1, 2] }] };
    const state = {
      ...emptyScorerState(),
      robustT2: [{ model: 'level', version: '1', trainedAt: '2026-12-05T10:00:00.000Z', siteId: 'NaN', machineId: '-Infinity', state: baseline }],
      adaptiveZ: [{ model: 'oven', version: '2', trainedAt: '2026-12-05T10:00:00.000Z', siteId: 's', machineId: 'm', state: history }],
      gates: [{ model: 'fan', version: '3', trainedAt: '2026-12-05T10:00:00.000Z', siteId: 's', machineId: 'f', state: { previous: [880.5], previousEnd: 10, settleLeft: 2, recent: [{ windowEnd: 10, hold: 'transient' as const }] } }],
    };
    const text = encodeFormat2StateFile(state, 42);
    const file = JSON.parse(text) as { format: number; savedAt: number; machines: { kind: string; state: { decidedUntil: unknown } }[] };
    expect(file.format).toBe(2);
    expect(file.savedAt).toBe(42);
    expect(file.machines.map((m) => [m.kind, m.state.decidedUntil])).toEqual([
      ['robust-t2', 5],
      ['adaptive-z', '-Infinity'],
      ['gate', undefined],
    ]);
    expect(text).toContain('"shortMeans":["NaN",1.5]');
    expect(text).toContain('"baseline":["Infinity",0.30000000000000004]');
    // Ids that look like numbers stay ids: only numbers inside a state are decoded.
    expect(decodeJsonStateFile(text)).toEqual(state);
  });

  it('refuses what is not a state file of its format, naming the problem', () => {
    expect(() => decodeJsonStateFile('{"format":1,"savedAt":0,"machines":[]}')).toThrow(/not a scorer state file of format 2/);
    const wrongState = encodeFormat2StateFile({ ...emptyScorerState(), robustT2: [{ model: 'level', version: '1', trainedAt: 'x', siteId: 's', machineId: 'm', state: { baseline: [1], decidedUntil: 0, recent: [] } }] }, 0).replace('"baseline":[1]', '"baseline":["one"]');
    expect(() => decodeJsonStateFile(wrongState)).toThrow(/baseline/);
    expect(() => decodeJsonStateFile('{"format":2,')).toThrow(SyntaxError);
  });
});

/** One robust-t2 machine whose state is `online` (and a baseline around it). */
function onlineEntry(online: OnlineThresholdState): ScorerState {
  const state: BaselineState = { baseline: [1, 2], decidedUntil: 5, recent: [], online };
  return { ...emptyScorerState(), robustT2: [{ model: 'level', version: '1', trainedAt: '2026-12-05T10:00:00.000Z', siteId: 's', machineId: 'm', state }] };
}

/** Decides `scores` as the scorer does (χ²₂-like scores, trained threshold 40); returns each window's threshold. */
function decide(state: OnlineThresholdState, scores: readonly number[]): number[] {
  return scores.map((score) => {
    const threshold = currentThreshold(state, 40);
    learnOnlineThreshold(state, { falseAlertsPerDay: 1, floor: 5 }, 10_000, score, 40);
    return threshold;
  });
}

describe('an online threshold in a state file of format 2', () => {
  it('is written with its score arrays as base64 of their doubles and read back double for double', () => {
    const awkward = [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE, Number.MAX_VALUE, 0.1 + 0.2];
    const online: OnlineThresholdState = { ...initialOnlineThreshold(), calibration: [1], recent: awkward };
    const text = encodeFormat2StateFile(onlineEntry(online), 0);
    // 1 as a little-endian IEEE 754 double is 00 00 00 00 00 00 f0 3f.
    expect(text).toContain('"calibration":"AAAAAAAA8D8="');
    expect(text).toContain(`"recent":"${Buffer.from('000000000000f87f' + '0000000000000080' + '000000000000f07f' + '000000000000f0ff' + '0100000000000000' + 'ffffffffffffef7f' + '343333333333d33f', 'hex').toString('base64')}"`);
    const restored = decodeJsonStateFile(text).robustT2[0]!.state.online!;
    expect(restored).toEqual(online);
    expect(Object.is(restored.recent[1], -0)).toBe(true);
  });

  it('read back from the file after calibrating, decides every later window exactly as without the restart', () => {
    const next = gpdSampler(5, 0, 2);
    const state = initialOnlineThreshold();
    decide(state, Array.from({ length: 3_000 }, next));
    expect(state.spot?.peaks.length).toBeGreaterThan(40);
    const restored = decodeJsonStateFile(encodeFormat2StateFile(onlineEntry(state), 0)).robustT2[0]!.state.online!;
    expect(restored).toEqual(state);
    const later = Array.from({ length: 3_000 }, next);
    const uninterrupted = decide(state, later);
    expect(decide(restored, later)).toEqual(uninterrupted);
    // The later windows move the threshold: the comparison above can fail.
    expect(new Set(uninterrupted).size).toBeGreaterThan(1);
    expect(restored).toEqual(state);
  });

  it('reads a file written before packing: number arrays, and "NaN" for a calibrating machine\'s body limit', () => {
    const machine = { kind: 'robust-t2', model: 'level', version: '1', trainedAt: '2026-12-05T10:00:00.000Z', siteId: 's' };
    const spot = { q: 0.0001, maxPeaks: 1000, tail: 7.5, peaks: [0.25, 1.5], ceilings: [1.7976931348623157e308, 3.25], observations: 99.5, gamma: 0.1, sigma: 2, threshold: 23.5 };
    const text = JSON.stringify({
      format: 2,
      savedAt: 0,
      machines: [
        { ...machine, machineId: 'calibrating', state: { baseline: [1], decidedUntil: '-Infinity', recent: [], online: { calibration: [2.5, 3], spot: null, threshold: null, bodyLimit: 'NaN', recent: [2.5, 3, 45], quiet: 0, unfitted: 0 } } },
        { ...machine, machineId: 'calibrated', state: { baseline: [1], decidedUntil: 5, recent: [], online: { calibration: [], spot, threshold: 23.5, bodyLimit: 3.5, recent: [4], quiet: 30, unfitted: 3 } } },
      ],
    });
    expect(decodeJsonStateFile(text).robustT2.map((e) => e.state.online)).toEqual([
      { calibration: [2.5, 3], spot: null, threshold: null, bodyLimit: Number.NaN, recent: [2.5, 3, 45], quiet: 0, unfitted: 0 },
      { calibration: [], spot: { ...spot, ceilings: [Number.MAX_VALUE, 3.25] }, threshold: 23.5, bodyLimit: 3.5, recent: [4], quiet: 30, unfitted: 3 },
    ]);
  });

  it.each([
    ['not base64', '"calibration":"AAAA!AAAAAA="'],
    ['not whole doubles', '"calibration":"AAAA"'],
  ])('refuses a score array that is %s, naming it', (_what, broken) => {
    const text = encodeFormat2StateFile(onlineEntry({ ...initialOnlineThreshold(), calibration: [1] }), 0);
    expect(() => decodeJsonStateFile(text.replace('"calibration":"AAAAAAAA8D8="', broken))).toThrow(/calibration/);
  });
});

const KINDS = [
  { kind: 'robust-t2', trainingWindows: 300, restartAfter: 30 },
  // 14 training windows and 5 live ones per machine leave NaN short means (the first 11 values have none) in the saved history.
  { kind: 'adaptive-z', trainingWindows: 14, restartAfter: 10 },
] as const satisfies readonly { kind: ModelKind; trainingWindows: number; restartAfter: number }[];

const live = liveWindows();
/** A registry per kind with one model, level@1, and the scores of a scorer that scored `live` without stopping. */
const trained = new Map<ModelKind, { registryDir: string; reference: WindowScore[] }>();
let temp: string;
let stateFile: string;
let errors: string[];
let warnings: string[];
const ignore = (): void => undefined;
const logger: ModelLogger = {
  debug: ignore,
  info: ignore,
  warn: (obj: unknown, msg?: string) => void warnings.push(`${msg} ${JSON.stringify(obj)}`),
  error: (obj: unknown, msg?: string) => void errors.push(`${msg} ${JSON.stringify(obj)}`),
};
const open = (kind: ModelKind, options: Partial<ScorerOptions> = {}): Promise<ModelScorer> =>
  openScorer({ registryDir: trained.get(kind)!.registryDir, clock: new ManualClock(LIVE_START), pollMs: 3_600_000, logger, ...options });

beforeAll(async () => {
  temp = await mkdtemp(path.join(os.tmpdir(), 'pdm-scorer-state-'));
  for (const { kind, trainingWindows } of KINDS) {
    const registryDir = path.join(temp, kind);
    const model = await trainModel(levelMachineWindows({ seed: 1, windows: trainingWindows, startMs: TRAIN_START }), { outDir: registryDir, name: 'level', version: '1', kind });
    // The state under test is the slow baseline such a file may carry.
    if (kind === 'robust-t2') await giveSlowBaseline(model.dir, 600_000);
    trained.set(kind, { registryDir, reference: [] });
    const scorer = await open(kind);
    trained.get(kind)!.reference = scoresOf(await scoreWindows(scorer, live));
    await scorer.close();
  }
});
afterAll(() => rm(temp, { recursive: true, force: true }));
let run = 0;
beforeEach(() => {
  errors = [];
  warnings = [];
  stateFile = path.join(temp, `state-${++run}`, 'scorer-state.json'); // its folder is created by the first save
});

describe.each(KINDS)('$kind across a restart', ({ kind, restartAfter }) => {
  it.each([
    ['as saved', false],
    // A processor upgraded from format 2 (one JSON text): the file is migrated on open and nothing is lost.
    ['left by a processor of format 2, migrated on open', true],
  ])('decides every window after the restart exactly as if it had never stopped, a window decided before included: state file %s', async (_how, olderProcessor) => {
    const { reference } = trained.get(kind)!;
    const before = await open(kind, { stateFile });
    const first = scoresOf(await scoreWindows(before, live.slice(0, restartAfter)));
    await before.close();
    const saved = readStateFile(stateFile);
    expect(saved[kind === 'robust-t2' ? 'robustT2' : 'adaptiveZ'].map((e) => `${e.siteId}/${e.machineId}`).sort()).toEqual(['site-test/m-1', 'site-test/m-2']);
    if (kind === 'adaptive-z') expect(saved.adaptiveZ.flatMap((e) => e.state.features.flatMap((f) => f.shortMeans)).some(Number.isNaN)).toBe(true);
    // Saved 5 windows after the gap, before any of them taught the baseline: its spread (2 per τ of 600 s) goes with it.
    if (kind === 'robust-t2') expect(saved.robustT2.map((e) => e.state.spread)).toEqual([12, 12]);
    if (olderProcessor) await writeFile(stateFile, encodeFormat2StateFile(saved, LIVE_START));

    const after = await open(kind, { stateFile });
    try {
      expect((await readFile(stateFile)).subarray(0, 15).toString()).toBe('SQLite format 3');
      expect(readStateFile(stateFile)).toEqual(saved);
      const rest = scoresOf(await scoreWindows(after, live.slice(restartAfter)));
      expect([...first, ...rest]).toEqual(reference);
      // A redelivery of windows decided before the restart gets their first decisions.
      const again = scoresOf(await scoreWindows(after, live.slice(restartAfter - 2, restartAfter)));
      expect(again).toEqual(reference.slice(restartAfter - 2, restartAfter));
    } finally {
      await after.close();
    }
    // Without the state file the same windows score otherwise: the test above can fail.
    const fresh = await open(kind);
    const forgotten = scoresOf(await scoreWindows(fresh, live.slice(restartAfter)));
    await fresh.close();
    expect(forgotten.map((s) => s.score)).not.toEqual(reference.slice(restartAfter).map((s) => s.score));
  });
});

/** Each machine's saved_at in the state file: when its row was last written. */
function savedAt(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT site_id, machine_id, saved_at FROM machine_state').all() as { site_id: string; machine_id: string; saved_at: number }[];
    return Object.fromEntries(rows.map((r) => [`${r.site_id}/${r.machine_id}`, r.saved_at]));
  } finally {
    db.close();
  }
}

describe('the state file of the processor', () => {
  it.each([
    ['not JSON', '{"format":2,'],
    ['another format', '{"format":1,"savedAt":0,"machines":[]}'],
  ])('sets aside a file that is %s, says so and starts every machine afresh', async (_what, content) => {
    const { reference } = trained.get('robust-t2')!;
    await mkdir(path.dirname(stateFile), { recursive: true });
    await writeFile(stateFile, content);
    const troubles: Array<[string, number]> = [];
    const scorer = await open('robust-t2', { stateFile, onStateTrouble: (trouble, count) => troubles.push([trouble, count]) });
    try {
      expect(scorer.stats().stateFilesUnreadable).toBe(1);
      expect(troubles).toEqual([['file_unreadable', 1]]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('state file unreadable');
      expect(errors[0]).toContain(JSON.stringify(stateFile));
      expect(await readdir(path.dirname(stateFile))).toEqual([`scorer-state.json.unreadable-${LIVE_START}`]);
      expect(await readFile(`${stateFile}.unreadable-${LIVE_START}`, 'utf8')).toBe(content);
      expect(scoresOf(await scoreWindows(scorer, live.slice(0, 4)))).toEqual(reference.slice(0, 4));
    } finally {
      await scorer.close();
    }
    expect(readStateFile(stateFile).robustT2).toHaveLength(2);
  });

  it('keeps aside a row it cannot read (a newer release\'s, rolled back from), says so once, and restores every other machine', async () => {
    const { reference } = trained.get('robust-t2')!;
    const before = await open('robust-t2', { stateFile });
    await scoreWindows(before, live.slice(0, 30));
    await before.close();
    const saved = readStateFile(stateFile).robustT2;
    const m1 = saved.find((e) => e.machineId === 'm-1')!.state;
    // m-2's baseline as a newer release with a field added writes it.
    const newer = encodeRowState({ ...saved.find((e) => e.machineId === 'm-2')!.state, addedLater: 1 });
    const tamper = new Database(stateFile);
    tamper.prepare("UPDATE machine_state SET state = ? WHERE kind = 'robust-t2' AND machine_id = 'm-2'").run(newer);
    tamper.close();

    const troubles: Array<[string, number]> = [];
    const after = await open('robust-t2', { stateFile, onStateTrouble: (trouble, count) => troubles.push([trouble, count]) });
    try {
      expect(after.stats()).toMatchObject({ stateFilesUnreadable: 0, stateRowsUnreadable: 1 });
      expect(troubles).toEqual([['rows_unreadable', 1]]);
      expect(errors).toEqual([]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^machine state unreadable, kept aside .*"machine":"site-test\/m-2".*Unrecognized key: \\"addedLater\\"/);
      expect(after.baselineOf('level', '1', 'site-test', 'm-1')).toEqual(m1);
      expect(after.baselineOf('level', '1', 'site-test', 'm-2')).toBeUndefined();
      // m-1 decides as if it had never stopped; m-2 starts afresh.
      const rest = scoresOf(await scoreWindows(after, live.slice(30)));
      expect(rest.filter((s) => s.machineId === 'm-1')).toEqual(reference.slice(30).filter((s) => s.machineId === 'm-1'));
      expect(rest.filter((s) => s.machineId === 'm-2').map((s) => s.score)).not.toEqual(reference.slice(30).filter((s) => s.machineId === 'm-2').map((s) => s.score));
    } finally {
      await after.close();
    }
    // Saved since under the same key, m-2's row kept aside is still there as it was.
    const db = new Database(stateFile, { readonly: true });
    expect(db.prepare('SELECT machine_id, state FROM machine_state_unreadable').all()).toEqual([{ machine_id: 'm-2', state: newer }]);
    db.close();
    expect(readStateFile(stateFile).robustT2.map((e) => e.machineId).sort()).toEqual(['m-1', 'm-2']);
    const again = await open('robust-t2', { stateFile });
    await again.close();
    expect(again.stats().stateRowsUnreadable).toBe(0);
    expect(warnings).toHaveLength(1);
  });

  it('restores every readable machine when the unreadable rows cannot be kept aside, instead of setting the file aside', async () => {
    const before = await open('robust-t2', { stateFile });
    await scoreWindows(before, live.slice(0, 30));
    await before.close();
    const saved = readStateFile(stateFile).robustT2;
    const tamper = new Database(stateFile);
    tamper.prepare("UPDATE machine_state SET state = ? WHERE kind = 'robust-t2' AND machine_id = 'm-2'").run(encodeRowState({ ...saved.find((e) => e.machineId === 'm-2')!.state, addedLater: 1 }));
    // A table of that name the move cannot write into: the move fails as on a full disk.
    tamper.exec('CREATE TABLE machine_state_unreadable (other TEXT)');
    tamper.close();

    const after = await open('robust-t2', { stateFile });
    try {
      expect(after.stats()).toMatchObject({ stateFilesUnreadable: 0, stateRowsUnreadable: 1 });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^machine state unreadable, NOT kept aside \(.*\): its next save overwrites it; this machine starts afresh.*"machine":"site-test\/m-2"/);
      expect(after.baselineOf('level', '1', 'site-test', 'm-1')).toEqual(saved.find((e) => e.machineId === 'm-1')!.state);
    } finally {
      await after.close();
    }
    expect(existsSync(stateFile)).toBe(true);
  });

  it('reports a save that failed to its caller (the processor counts it), and goes on scoring', async () => {
    // A regular file where the state file's folder should be: every save fails (as root too).
    const blocked = path.join(temp, 'not-a-folder');
    await writeFile(blocked, 'x');
    const troubles: Array<[string, number]> = [];
    const scorer = await open('robust-t2', { stateFile: path.join(blocked, 'scorer-state.sqlite'), onStateTrouble: (trouble, count) => troubles.push([trouble, count]) });
    await scoreWindows(scorer, live.slice(0, 4));
    await scorer.close();
    expect(scorer.stats().stateSaveFailures).toBe(1);
    expect(troubles).toEqual([['save_failed', 1]]);
    expect(errors[0]).toMatch(/^saving the machine states failed/);
  });

  it('saves every stateSaveMs on the clock, after the windows scored so far', async () => {
    const clock = new ManualClock(LIVE_START);
    const scorer = await open('robust-t2', { stateFile, stateSaveMs: 30_000, clock });
    try {
      await scoreWindows(scorer, live.slice(0, 6));
      clock.advance(29_999);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await expect(readFile(stateFile, 'utf8')).rejects.toThrow(/ENOENT/);
      clock.advance(1);
      await vi.waitFor(() => expect(readStateFile(stateFile).robustT2.map((e) => e.state.decidedUntil)).toEqual([LIVE_START + 30_000, LIVE_START + 30_000]));
      expect(savedAt(stateFile)).toEqual({ 'site-test/m-1': LIVE_START + 30_000, 'site-test/m-2': LIVE_START + 30_000 });

      // Only m-1 scored since: only its row is written again.
      await scoreWindows(scorer, live.slice(6, 8).filter((w) => w.machineId === 'm-1'));
      clock.advance(30_000);
      await vi.waitFor(() => expect(readStateFile(stateFile).robustT2.map((e) => `${e.machineId} ${e.state.decidedUntil}`).sort()).toEqual([`m-1 ${LIVE_START + 40_000}`, `m-2 ${LIVE_START + 30_000}`]));
      expect(savedAt(stateFile)).toEqual({ 'site-test/m-1': LIVE_START + 60_000, 'site-test/m-2': LIVE_START + 30_000 });
      expect(scorer.stats().stateSaveFailures).toBe(0);
    } finally {
      await scorer.close();
    }
  });
});

describe('a model trained again under the same name and version', () => {
  it('does not inherit the states of the model it replaced: every machine starts afresh', async () => {
    const { reference } = trained.get('adaptive-z')!;
    const before = await open('adaptive-z', { stateFile });
    await scoreWindows(before, live.slice(0, 10));
    await before.close();
    // The registry wiped and trained again: level@1 once more, another model (two sensors only).
    const again = path.join(temp, 'retrained');
    await trainModel(
      levelMachineWindows({ seed: 9, windows: 14, startMs: TRAIN_START }).map((w) => ({ ...w, sensors: w.sensors.slice(0, 2) })),
      { outDir: again, name: 'level', version: '1', kind: 'adaptive-z', now: () => TRAIN_START },
    );
    const fresh = await openScorer({ registryDir: again, clock: new ManualClock(LIVE_START), pollMs: 3_600_000, logger });
    const expected = scoresOf(await scoreWindows(fresh, live.slice(10, 14)));
    await fresh.close();
    const after = await openScorer({ registryDir: again, clock: new ManualClock(LIVE_START), pollMs: 3_600_000, logger, stateFile });
    try {
      expect(scoresOf(await scoreWindows(after, live.slice(10, 14)))).toEqual(expected);
      expect(expected.map((s) => s.score)).not.toEqual(reference.slice(10, 14).map((s) => s.score));
    } finally {
      await after.close();
    }
  });
});

