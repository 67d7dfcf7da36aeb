// The pca kind through the registry-backed scorer, as pdm score and the processor use it.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ManualClock } from '@pdm/clock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KIND_FILES, MODEL_FILES, type PcaFile } from '../model/artifact-schemas.js';
import { readModelFolder } from '../model/artifacts.js';
import { expectContractRefusals, levelMachineWindows } from '../test-support/level-machine.js';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { publishModel, tempRegistry } from '../test-support/temp-registry.js';
import { scoresOf } from '../test-support/scores-of.js';
import { TrainingDataError } from '../training/derive-contract.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer, type ModelScorer } from './scorer.js';

const TRAIN_START = 1_700_000_000_000;
const LIVE_START = TRAIN_START + 86_400_000;
let trained: Awaited<ReturnType<typeof tempRegistry>>;
let level: string;

beforeAll(async () => {
  trained = await tempRegistry();
  level = (await trainModel(levelMachineWindows({ seed: 1, windows: 300, startMs: TRAIN_START }), { outDir: trained.dir, name: 'level', kind: 'pca' })).dir;
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

describe('the pca kind', () => {
  it("writes contract.json with its kind and pca.json on robust-t2's features, nothing held back", async () => {
    expect((await readdir(level)).sort()).toEqual([MODEL_FILES.contract, ...KIND_FILES.pca].sort());
    const contract = JSON.parse(await readFile(path.join(level, MODEL_FILES.contract), 'utf8')) as Record<string, unknown>;
    expect(contract).toMatchObject({ kind: 'pca', heldBackWindows: 0, trainingWindows: 300 });
    expect(contract['featureNames']).toEqual(['a.mean', 'a.rms', 'b.mean', 'b.rms', 'c.mean', 'c.rms']);
    const file = JSON.parse(await readFile(path.join(level, MODEL_FILES.pca), 'utf8')) as PcaFile;
    expect(file).toMatchObject({ p: 1e-3, rho: 0.01 });
    // The level floor (1 % of each level: σ 1 on a at 100) swamps these sensors' window-to-window spread
    // (σ 0.3), so their features are nearly uncorrelated: 90 % would take all six, d − 1 = 5 leave a residual.
    expect(file.components).toHaveLength(5);
    expect(file.fit.explained).toBeLessThan(0.9);
  });

  it('flags a 10% step of one sensor, blames that sensor, and reports the score on the common scale (threshold 1)', async () => {
    await publishModel(registry.dir, level, 'level', '1');
    await scorer.reload();
    const windows = levelMachineWindows({ seed: 2, windows: 120, startMs: LIVE_START, offsetA: (w) => (w >= 60 ? 10 : 0) });
    const scored = scoresOf(await scoreWindows(scorer, windows));
    expect(scored.slice(0, 60).filter((s) => s.isAnomaly)).toHaveLength(0);
    expect(scored.slice(60).every((s) => s.isAnomaly)).toBe(true);
    for (const s of scored) {
      expect(s.threshold).toBe(1);
      expect(s.calibrated).toBeCloseTo(Math.sqrt(s.score), 12);
      expect(Object.values(s.contributions).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 9);
    }
    for (const s of scored.slice(60)) expect(s.contributions['a']!).toBeGreaterThan(0.8);
  });

  it('decides a window by itself: scored again, or after other windows, it gets the same score', async () => {
    await publishModel(registry.dir, level, 'level', '1');
    await scorer.reload();
    const windows = levelMachineWindows({ seed: 3, windows: 30, startMs: LIVE_START, offsetA: (w) => (w >= 20 ? 10 : 0) });
    const first = scoresOf(await scoreWindows(scorer, windows));
    const again = scoresOf(await scoreWindows(scorer, [windows[25]!, windows[5]!]));
    expect(again.map((s) => s.score)).toEqual([first[25]!.score, first[5]!.score]);
  });

  it('refuses a window that does not fit its contract, like every kind', async () => {
    await publishModel(registry.dir, level, 'level', '1');
    await scorer.reload();
    await expectContractRefusals(scorer, LIVE_START);
  });

  it('refuses a pca.json whose components do not match the contract, or that leaves no residual', async () => {
    await publishModel(registry.dir, level, 'level', '1');
    const file = path.join(registry.dir, 'level', '1', MODEL_FILES.pca);
    const content = JSON.parse(await readFile(file, 'utf8')) as PcaFile;
    await writeFile(file, JSON.stringify({ ...content, components: content.components.map((c) => c.slice(1)) }));
    await expect(readModelFolder(path.join(registry.dir, 'level', '1'))).rejects.toThrow(/pca\.json: features, location, scale, eigenvalues or components \(of 6\) differ/);
    const all = Array.from({ length: 6 }, (_, i) => Array.from({ length: 6 }, (_, j) => (i === j ? 1 : 0)));
    await writeFile(file, JSON.stringify({ ...content, components: all }));
    await expect(readModelFolder(path.join(registry.dir, 'level', '1'))).rejects.toThrow(/pca\.json: components must be fewer than the eigenvalues/);
  });
});

describe('the pca kind on several machines', () => {
  it('refuses windows of more than one machine, saying why and what to train instead', async () => {
    // Two machines of one class: pooled, the difference between their levels would be a principal component.
    const windows = [
      ...levelMachineWindows({ seed: 4, windows: 100, startMs: TRAIN_START, machineId: 'm-1' }),
      ...levelMachineWindows({ seed: 5, windows: 100, startMs: TRAIN_START, machineId: 'm-2' }),
    ];
    const refused = trainModel(windows, { outDir: trained.dir, name: 'fleet', kind: 'pca' });
    await expect(refused).rejects.toThrow(TrainingDataError);
    await expect(refused).rejects.toThrow(/of 2 \(m-1, m-2\).*one pca model per machine.*robust-t2, which compares each machine with its own level/);
    const combined = trainModel(windows, { outDir: trained.dir, name: 'fleet', kind: { members: ['robust-t2', 'pca'], combine: 'max' } });
    await expect(combined).rejects.toThrow(/one pca model per machine/);
    // One machine's windows train.
    const alone = await trainModel(windows.slice(0, 100), { outDir: trained.dir, name: 'fleet', kind: 'pca', machines: ['m-1'] });
    expect(alone.kind).toBe('pca');
  });
});

describe('the pca kind among the others', () => {
  const pump = simulatePump({ seed: 8, windows: 40 }).windows;

  it('hot-reloads a new version of another kind in place of the serving one, both ways', async () => {
    const t2Dir = (await trainModel(pump, { outDir: trained.dir, name: 'pump', version: 't2', kind: 'robust-t2' })).dir;
    const pcaDir = (await trainModel(pump, { outDir: trained.dir, name: 'pump', version: 'pca', kind: 'pca' })).dir;
    await publishModel(registry.dir, t2Dir, 'pump', '1');
    await scorer.reload();
    expect(scoresOf(await scoreWindows(scorer, pump.slice(0, 3)))[0]!.threshold).toBeCloseTo(29.588, 3);
    await publishModel(registry.dir, pcaDir, 'pump', '2');
    await scorer.reload();
    expect(scorer.loaded().map((m) => m.version)).toEqual(['2']);
    const after = scoresOf(await scoreWindows(scorer, pump.slice(0, 3)));
    expect(after.map((s) => [s.modelVersion, s.threshold])).toEqual([['2', 1], ['2', 1], ['2', 1]]);
    expect(Object.keys(after[0]!.contributions).sort()).toEqual(['current', 'flow', 'pressure', 'temp', 'vib']);
    await publishModel(registry.dir, t2Dir, 'pump', '3');
    await scorer.reload();
    expect(scoresOf(await scoreWindows(scorer, pump.slice(3, 4)))[0]).toMatchObject({ modelVersion: '3', threshold: expect.closeTo(29.588, 3) as number });
  });

  it('joins a combined model as a member, its score on the common scale', async () => {
    const dir = (await trainModel(pump, { outDir: trained.dir, name: 'pump', version: 'combined', kind: { members: ['robust-t2', 'pca'], combine: 'max' } })).dir;
    expect((await readdir(dir)).sort()).toEqual([...new Set([MODEL_FILES.contract, ...KIND_FILES['robust-t2'], ...KIND_FILES.pca])].sort());
    await publishModel(registry.dir, dir, 'pump', '1');
    await scorer.reload();
    const [scored] = scoresOf(await scoreWindows(scorer, pump.slice(0, 1)));
    expect(scored!.members!.map((m) => m.kind)).toEqual(['robust-t2', 'pca']);
    const member = scored!.members![1]!;
    expect(member.threshold).toBe(1);
    expect(member.calibrated).toBeCloseTo(Math.sqrt(member.score), 12);
    expect(scored!.score).toBe(Math.max(...scored!.members!.map((m) => m.calibrated)));
  });
});
