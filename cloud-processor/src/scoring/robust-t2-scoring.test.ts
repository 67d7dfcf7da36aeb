// The robust-t2 kind through the registry-backed scorer, as pdm score and the processor use it.
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { create, MachineWindowSchema } from '@pdm/proto';
import { ManualClock } from '@pdm/clock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MODEL_FILES } from '../model/artifact-schemas.js';
import { ONLINE_THRESHOLD } from '../model/online-threshold.js';
import { readModelFolder } from '../model/artifacts.js';
import { disposeBundle } from '../model/model-bundle.js';
import { expectContractRefusals, levelMachineWindows } from '../test-support/level-machine.js';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { giveSlowBaseline } from '../test-support/slow-baseline.js';
import { publishModel, tempRegistry } from '../test-support/temp-registry.js';
import { scoresOf } from '../test-support/scores-of.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer, type ModelScorer } from './scorer.js';

const TRAIN_START = 1_700_000_000_000;
const LIVE_START = TRAIN_START + 86_400_000;
let trained: Awaited<ReturnType<typeof tempRegistry>>;
/** robust-t2 as trained (300 windows: a slow baseline of 2 training spans), and the same model with τ = 600 s. */
let plain: string;
let withBaseline: string;

beforeAll(async () => {
  trained = await tempRegistry();
  const normal = levelMachineWindows({ seed: 1, windows: 300, startMs: TRAIN_START });
  plain = (await trainModel(normal, { outDir: trained.dir, name: 'level', kind: 'robust-t2' })).dir;
  withBaseline = path.join(trained.dir, 'with-baseline');
  await cp(plain, withBaseline, { recursive: true });
  await giveSlowBaseline(withBaseline, 600_000);
});
afterAll(() => trained.cleanup());

let registry: Awaited<ReturnType<typeof tempRegistry>>;
let scorer: ModelScorer;
beforeEach(async () => {
  registry = await tempRegistry();
  scorer = await openScorer({ registryDir: registry.dir, clock: new ManualClock(), maxBatch: 64, maxDelayMs: 20, pollMs: 3_600_000 });
});
afterEach(async () => {
  await scorer.close();
  await registry.cleanup();
});

describe('the robust-t2 kind', () => {
  it('writes contract.json with its kind and robust-t2.json, and features mean and rms per sensor', async () => {
    const contract = JSON.parse(await readFile(path.join(plain, MODEL_FILES.contract), 'utf8')) as Record<string, unknown>;
    expect(contract).toMatchObject({ kind: 'robust-t2', heldBackWindows: 0, trainingWindows: 300 });
    expect(contract['featureNames']).toEqual(['a.mean', 'a.rms', 'b.mean', 'b.rms', 'c.mean', 'c.rms']);
    const file = JSON.parse(await readFile(path.join(plain, MODEL_FILES.robustT2), 'utf8')) as Record<string, unknown>;
    // 300 non-overlapping 10 s windows, fewer than minTailWindows: τ = 2 × 300 × 10 s.
    expect(file).toMatchObject({ p: 1e-3, rho: 0.01, tauMs: 6_000_000 });
    // χ²₆ at p = 1e-3; 300 windows are too few for the scores' tail to raise it.
    expect(file['threshold']).toBeCloseTo(22.458, 3);
    expect(file['fit']).toMatchObject({ trainingTail: null });
  });

  it('flags a 10% step of one sensor for as long as it lasts and blames that sensor', async () => {
    await publishModel(registry.dir, withBaseline, 'level', '1');
    await scorer.reload();
    // Healthy for 60 windows, then sensor a 10 units (10% of its level) higher for 120 windows.
    const windows = levelMachineWindows({ seed: 2, windows: 180, startMs: LIVE_START, offsetA: (w) => (w >= 60 ? 10 : 0) });
    const scored = scoresOf(await scoreWindows(scorer, windows));
    expect(scored.slice(0, 60).filter((s) => s.isAnomaly)).toHaveLength(0);
    // The baseline never learns from a window that exceeded, so the step stays an anomaly to the end.
    expect(scored.slice(60).every((s) => s.isAnomaly)).toBe(true);
    expect(scored.every((s) => s.threshold === scored[0]!.threshold && s.model === 'level')).toBe(true);
    for (const s of scored.slice(60)) {
      expect(s.contributions['a']!).toBeGreaterThan(0.9);
      expect(Object.values(s.contributions).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 9);
    }
  });

  it('follows a slow drift below the floor with its baseline; the same drift alarms a model without one', async () => {
    // Sensor a rises by 5 units (5% of its level) over 720 windows (2 hours): 7 mm per 10 s window.
    const drift = { seed: 3, windows: 720, startMs: LIVE_START, offsetA: (w: number) => (5 * w) / 720 };
    await publishModel(registry.dir, withBaseline, 'level', '1');
    await scorer.reload();
    const followed = scoresOf(await scoreWindows(scorer, levelMachineWindows(drift)));
    expect(followed.filter((s) => s.isAnomaly)).toHaveLength(0);
    // The baseline trails the drift by about rate × τ = 5/7200 s × 600 s ≈ 0.42.
    const baseline = scorer.baselineOf('level', '1', 'site-test', 'm-1')!;
    expect(baseline.baseline[0]! - 100).toBeGreaterThan(4.4);
    expect(baseline.baseline[0]! - 100).toBeLessThan(4.8);
    expect(JSON.parse(JSON.stringify(baseline))).toEqual(baseline); // plain data: can be persisted as it is

    await publishModel(registry.dir, withBaseline, 'level', '2', (c) => c);
    const fixed = path.join(registry.dir, 'level', '2', MODEL_FILES.robustT2);
    await writeFile(fixed, JSON.stringify({ ...(JSON.parse(await readFile(fixed, 'utf8')) as object), tauMs: null }));
    await scorer.reload();
    const unfollowed = scoresOf(await scoreWindows(scorer, levelMachineWindows(drift)));
    expect(unfollowed.every((s) => s.modelVersion === '2')).toBe(true);
    expect(unfollowed.slice(0, 100).filter((s) => s.isAnomaly)).toHaveLength(0);
    expect(unfollowed.slice(-100).every((s) => s.isAnomaly)).toBe(true);
  });

  it('takes a machine back after a gap at the level it wandered to meanwhile, and not one back far beyond it', async () => {
    await publishModel(registry.dir, withBaseline, 'level', '1');
    await scorer.reload();
    // 60 windows at the trained level, then sensor a 5 % higher: right after them, or after an hour without
    // windows (a stop the running-state gate held, data that did not come) — or 30 % higher after the hour.
    const run = async (machineId: string, gapMs: number, step: number) => {
      const before = levelMachineWindows({ seed: 9, windows: 60, startMs: LIVE_START, machineId });
      const after = levelMachineWindows({ seed: 10, windows: 60, startMs: LIVE_START + 600_000 + gapMs, machineId, offsetA: () => step });
      const decided = scoresOf(await scoreWindows(scorer, [...before, ...after]));
      expect(decided.slice(0, 60).filter((s) => s.isAnomaly)).toHaveLength(0);
      return decided.slice(60);
    };
    // Without a gap the step stays in alarm: nothing above the threshold teaches the baseline.
    const step = await run('m-step', 0, 5);
    expect(step.every((s) => s.isAnomaly)).toBe(true);
    // After an hour (τ = 600 s: the level as unsure as 12 training spreads) the same level is plausible
    // wander: judged against a wider threshold, learnt from the windows after the gap, never an alarm.
    const back = await run('m-back', 3_600_000, 5);
    expect(back.filter((s) => s.isAnomaly)).toHaveLength(0);
    expect(back[0]!.threshold).toBeCloseTo(13 * step[0]!.threshold, 6);
    expect(back.at(-1)!.threshold).toBeLessThan(1.05 * step[0]!.threshold);
    const state = scorer.baselineOf('level', '1', 'site-test', 'm-back')!;
    expect(state.baseline[0]! - 100).toBeGreaterThan(4.5);
    // Its online threshold (not calibrated yet: the trained one, step's) learnt each score as it stands
    // without the widening: score × trained threshold / the window's threshold.
    const unwidened = back.map((s) => (s.score * step[0]!.threshold) / s.threshold);
    expect(state.online!.recent).toHaveLength(Math.min(120, ONLINE_THRESHOLD.recentWindows));
    state.online!.recent.slice(-60).forEach((score, i) => expect(score).toBeCloseTo(unwidened[i]!, 9));
    // 30 % is far beyond what an hour's wander explains: in alarm throughout.
    expect((await run('m-far', 3_600_000, 30)).every((s) => s.isAnomaly)).toBe(true);
  });

  it("decides a window from data up to its end only, each machine (a site's pump-1 is not another site's) against its own baseline", async () => {
    await publishModel(registry.dir, withBaseline, 'level', '1');
    await scorer.reload();
    const common = levelMachineWindows({ seed: 4, windows: 100, startMs: LIVE_START, offsetA: (w) => (3 * w) / 100 });
    const laterA = levelMachineWindows({ seed: 5, windows: 50, startMs: LIVE_START + 100 * 10_000 });
    const laterB = levelMachineWindows({ seed: 6, windows: 50, startMs: LIVE_START + 100 * 10_000, offsetA: () => 30 });
    const a = scoresOf(await scoreWindows(scorer, [...common, ...laterA]));
    // Machine m-1 of another site gets the same first 100 windows and a different future; the first m-1's
    // state must not matter to it.
    const atOtherSite = (ws: typeof common) => ws.map((w) => create(MachineWindowSchema, { ...w, siteId: 'site-other' }));
    const b = scoresOf(await scoreWindows(scorer, atOtherSite([...common, ...laterB])));
    expect(b.slice(0, 100).map((s) => s.score)).toEqual(a.slice(0, 100).map((s) => s.score));
    expect(b.slice(100).every((s) => s.isAnomaly)).toBe(true);
    expect(scorer.baselineOf('level', '1', 'site-test', 'm-1')!.baseline).not.toEqual(scorer.baselineOf('level', '1', 'site-other', 'm-1')!.baseline);
  });

  it('serves a class of machines, comparing each with its own level from training', async () => {
    // m-2 runs sensor a 8 units (8 %) above m-1, both healthy for 2,000 windows (minMachineWindows);
    // one model is trained on both.
    const m2 = { machineId: 'm-2', offsetA: () => 8 };
    const both = [...levelMachineWindows({ seed: 11, windows: 2_000, startMs: TRAIN_START }), ...levelMachineWindows({ seed: 12, windows: 2_000, startMs: TRAIN_START, ...m2 })];
    const report = await trainModel(both, { outDir: trained.dir, name: 'class', kind: 'robust-t2' });
    expect(report.kind === 'robust-t2' && report.ownLevels.sort()).toEqual(['m-1', 'm-2']);
    const { dir } = report;
    const file = JSON.parse(await readFile(path.join(dir, MODEL_FILES.robustT2), 'utf8')) as { machineOffsets: Record<string, number[]> };
    // a.mean is feature 0: the two levels 8 apart (medians of 2,000 windows of 10 readings, σ ≈ 0.3).
    expect(file.machineOffsets['m-2']![0]! - file.machineOffsets['m-1']![0]!).toBeCloseTo(8, 0);
    await publishModel(registry.dir, dir, 'class', '1');
    await scorer.reload();
    // Live: each machine at its own level for 60 windows, then at the other's for 60.
    const live = (seed: number, machineId: string, from: number, to: number) =>
      levelMachineWindows({ seed, windows: 120, startMs: LIVE_START, machineId, offsetA: (w) => (w < 60 ? from : to) });
    const one = scoresOf(await scoreWindows(scorer, live(13, 'm-1', 0, 8)));
    const two = scoresOf(await scoreWindows(scorer, live(14, 'm-2', 8, 0)));
    for (const machine of [one, two]) {
      expect(machine.slice(0, 60).filter((s) => s.isAnomaly)).toHaveLength(0);
      expect(machine.slice(60).every((s) => s.isAnomaly)).toBe(true);
    }
  });

  it('decides a window scored again (a redelivery, a late revision) as it did the first time', async () => {
    await publishModel(registry.dir, withBaseline, 'level', '1');
    await scorer.reload();
    // A slow drift the baseline follows: by the end it has moved away from where windows 140 and 170 were
    // decided (both among the MODEL_DEFAULTS.scorer.recentDecisions = 64 windows a machine remembers).
    const windows = levelMachineWindows({ seed: 8, windows: 200, startMs: LIVE_START, offsetA: (w) => (2 * w) / 200 });
    const first = scoresOf(await scoreWindows(scorer, windows));
    const again = scoresOf(await scoreWindows(scorer, [windows[140]!, windows[170]!, create(MachineWindowSchema, { ...windows[199]!, revision: 1 })]));
    expect(again.map((s) => s.score)).toEqual([first[140]!.score, first[170]!.score, first[199]!.score]);
    expect(again.map((s) => s.isAnomaly)).toEqual([first[140]!.isAnomaly, first[170]!.isAnomaly, first[199]!.isAnomaly]);
    expect(scorer.baselineOf('level', '1', 'site-test', 'm-1')!.baseline).not.toEqual(scorer.baselineOf('level', '1', 'site-test', 'm-1')!.recent[0]!.baseline);
  });

  it('forgets a machine that has been silent longer than forgetMachinesAfterMs at the next registry check', async () => {
    await publishModel(registry.dir, withBaseline, 'level', '1');
    const forgetful = await openScorer({ registryDir: registry.dir, clock: new ManualClock(LIVE_START + 3 * 86_400_000), pollMs: 3_600_000, forgetMachinesAfterMs: 86_400_000 });
    try {
      await scoreWindows(forgetful, levelMachineWindows({ seed: 10, windows: 5, startMs: LIVE_START }));
      await scoreWindows(forgetful, levelMachineWindows({ seed: 11, windows: 5, startMs: LIVE_START + 2 * 86_400_000, machineId: 'm-2' }));
      await forgetful.reload();
      expect(forgetful.baselineOf('level', '1', 'site-test', 'm-1')).toBeUndefined();
      expect(forgetful.baselineOf('level', '1', 'site-test', 'm-2')).toBeDefined();
    } finally {
      await forgetful.close();
    }
  });

  it('refuses a window that does not fit its contract, like every kind', async () => {
    await publishModel(registry.dir, withBaseline, 'level', '1');
    await scorer.reload();
    await expectContractRefusals(scorer, LIVE_START);
  });

  it('refuses a robust-t2.json whose precision does not match the contract', async () => {
    await publishModel(registry.dir, withBaseline, 'level', '1');
    const file = path.join(registry.dir, 'level', '1', MODEL_FILES.robustT2);
    const content = JSON.parse(await readFile(file, 'utf8')) as { precision: number[][] };
    await writeFile(file, JSON.stringify({ ...content, precision: content.precision.slice(1) }));
    await expect(readModelFolder(path.join(registry.dir, 'level', '1'))).rejects.toThrow(/robust-t2\.json: features, location or precision \(6 × 6\)/);
  });

  it("refuses a machine's offset that does not match the contract's features", async () => {
    await publishModel(registry.dir, withBaseline, 'level', '1');
    const file = path.join(registry.dir, 'level', '1', MODEL_FILES.robustT2);
    const content = JSON.parse(await readFile(file, 'utf8')) as object;
    await writeFile(file, JSON.stringify({ ...content, machineOffsets: { 'm-1': [0, 0, 0, 0, 0, 0], 'm-2': [1, 2] } }));
    await expect(readModelFolder(path.join(registry.dir, 'level', '1'))).rejects.toThrow(/robust-t2\.json: machineOffsets\["m-2"\] has 2 values, contract\.json has 6 features/);
  });
});

describe('model kinds in one registry', () => {
  let autoencoderDir: string;
  const pump = simulatePump({ seed: 8, windows: 40 }).windows;
  beforeAll(async () => {
    autoencoderDir = (await trainModel(pump, { outDir: trained.dir, name: 'pump', kind: 'autoencoder', epochs: 20 })).dir;
  });

  it('hot-reloads a new version of another kind in place of the serving one', async () => {
    const t2Dir = (await trainModel(pump, { outDir: trained.dir, name: 'pump', version: 't2', kind: 'robust-t2' })).dir;
    await publishModel(registry.dir, autoencoderDir, 'pump', '1');
    await scorer.reload();
    const before = scoresOf(await scoreWindows(scorer, pump.slice(0, 3)));
    expect(before[0]!.modelVersion).toBe('1');
    await publishModel(registry.dir, t2Dir, 'pump', '2');
    await scorer.reload();
    expect(scorer.loaded().map((m) => m.version)).toEqual(['2']);
    const after = scoresOf(await scoreWindows(scorer, pump.slice(0, 3)));
    expect(after[0]!.modelVersion).toBe('2');
    expect(after[0]!.threshold).toBeCloseTo(29.588, 3); // χ²₁₀ at 1e-3: mean and rms of five sensors
    expect(Object.keys(after[0]!.contributions).sort()).toEqual(['current', 'flow', 'pressure', 'temp', 'vib']);
  });

  it('loads a contract.json written before kinds existed (no kind, or autoencoder+robust-z) as an autoencoder', async () => {
    const { kind: _kind, ...withoutKind } = JSON.parse(await readFile(path.join(autoencoderDir, MODEL_FILES.contract), 'utf8')) as Record<string, unknown>;
    await publishModel(registry.dir, autoencoderDir, 'pump', '1', () => ({ ...withoutKind, name: 'pump', version: '1' }));
    await publishModel(registry.dir, autoencoderDir, 'old', '1', (c) => ({ ...c, kind: 'autoencoder+robust-z' }));
    for (const dir of [path.join(registry.dir, 'pump', '1'), path.join(registry.dir, 'old', '1')]) {
      const bundle = await readModelFolder(dir);
      expect(bundle.kind).toBe('autoencoder');
      disposeBundle(bundle);
    }
    await scorer.reload();
    expect(scorer.loaded().map((m) => m.name).sort()).toEqual(['old', 'pump']);
  });
});
