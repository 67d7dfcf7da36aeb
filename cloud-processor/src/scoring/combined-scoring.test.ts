// The combined kind through the registry-backed scorer, as pdm score and the processor use it: its
// members must score exactly as the same kinds trained alone, and its decision follow from their scores.
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ManualClock } from '@pdm/clock';
import type { MachineWindow } from '@pdm/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScoreOutcome, WindowScore } from '../model/api.js';
import { MODEL_FILES } from '../model/artifact-schemas.js';
import { readModelFolder } from '../model/artifacts.js';
import { levelMachineWindows } from '../test-support/level-machine.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer } from './scorer.js';

const TRAIN_START = 1_700_000_000_000;
const LIVE_START = TRAIN_START + 86_400_000;
const TRAINING = { epochs: 20, seed: 3 };

let trained: Awaited<ReturnType<typeof tempRegistry>>;
const dirs: Record<'t2' | 'ae' | 'max' | 'mean', string> = { t2: '', ae: '', max: '', mean: '' };

beforeAll(async () => {
  trained = await tempRegistry();
  const normal = levelMachineWindows({ seed: 1, windows: 300, startMs: TRAIN_START });
  const train = async (name: string, kind: Parameters<typeof trainModel>[1]['kind']) => (await trainModel(normal, { outDir: trained.dir, name, kind, ...TRAINING })).dir;
  dirs.t2 = await train('t2', 'robust-t2');
  dirs.ae = await train('ae', 'autoencoder');
  dirs.max = await train('max', { members: ['robust-t2', 'autoencoder'], combine: 'max' });
  dirs.mean = await train('mean', { members: ['robust-t2', 'autoencoder'], combine: 'mean' });
});
afterAll(() => trained.cleanup());

const readJson = async (dir: string, file: string) => JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Record<string, unknown>;

/** Every window's score by the model in `from`, served alone from a registry of its own (a state file when given). */
async function scoreWith(from: string, windows: MachineWindow[], stateFile?: string): Promise<WindowScore[]> {
  const registry = await tempRegistry();
  await cp(from, path.join(registry.dir, 'model', '1'), { recursive: true });
  await writeFile(path.join(registry.dir, 'model', '1', MODEL_FILES.contract), JSON.stringify({ ...(await readJson(from, MODEL_FILES.contract)), name: 'model', version: '1' }));
  const scorer = await openScorer({ registryDir: registry.dir, clock: new ManualClock(), maxBatch: 64, maxDelayMs: 20, pollMs: 3_600_000, ...(stateFile && { stateFile }) });
  try {
    return (await scoreWindows(scorer, windows)).map((o: ScoreOutcome) => {
      if (o.kind !== 'scored') throw new Error(`expected a score, got ${o.kind}`);
      return o.score;
    });
  } finally {
    await scorer.close();
    await registry.cleanup();
  }
}

/** Healthy for 60 windows, then sensor a drifting up by 0.05 a window (3 units after 60): some windows only one member flags. */
const live = () => levelMachineWindows({ seed: 2, windows: 120, startMs: LIVE_START, offsetA: (w) => (w >= 60 ? 0.05 * (w - 59) : 0) });

describe('the combined kind', () => {
  it('trains each member on its own features of the same windows, its artifacts as the member trained alone', async () => {
    const contract = await readJson(dirs.max, MODEL_FILES.contract);
    const t2 = await readJson(dirs.t2, MODEL_FILES.contract);
    const ae = await readJson(dirs.ae, MODEL_FILES.contract);
    expect(contract).toMatchObject({ kind: 'combined', combine: 'max', trainingWindows: 300 });
    expect(contract['members']).toEqual([
      { kind: 'robust-t2', featureNames: t2['featureNames'] },
      { kind: 'autoencoder', featureNames: ae['featureNames'] },
    ]);
    expect(contract['featureNames']).toEqual([...new Set([...(t2['featureNames'] as string[]), ...(ae['featureNames'] as string[])])]);
    expect(await readJson(dirs.max, MODEL_FILES.robustT2)).toEqual(await readJson(dirs.t2, MODEL_FILES.robustT2));
    const weights = (dir: string) => readFile(path.join(dir, MODEL_FILES.weights));
    expect((await weights(dirs.max)).equals(await weights(dirs.ae))).toBe(true);
    expect(await readJson(dirs.max, MODEL_FILES.threshold)).toEqual(await readJson(dirs.ae, MODEL_FILES.threshold));
  });

  it('max: each member scores as it does alone; anomalous when either is past its threshold, blamed on the one further out', async () => {
    const windows = live();
    const [t2, ae, max] = [await scoreWith(dirs.t2, windows), await scoreWith(dirs.ae, windows), await scoreWith(dirs.max, windows)];
    // The step must split the members somewhere, or the test proves nothing about the rule.
    expect(t2.some((s, i) => s.isAnomaly !== ae[i]!.isAnomaly)).toBe(true);
    max.forEach((s, i) => {
      const [a, b] = [t2[i]!, ae[i]!];
      expect(s.members!.map((m) => m.kind)).toEqual(['robust-t2', 'autoencoder']);
      expect(s.members![0]!.score).toBe(a.score);
      expect(s.members![0]!.threshold).toBe(a.threshold);
      expect(s.members![1]!.score).toBeCloseTo(b.score, 6);
      const ca = Math.sqrt(a.score / a.threshold);
      const cb = Math.sqrt(b.score / b.threshold);
      expect(s.members![0]!.calibrated).toBeCloseTo(ca, 12);
      expect(s.score).toBeCloseTo(Math.max(ca, cb), 6);
      expect(s.threshold).toBe(1);
      expect(s.calibrated).toBe(s.score);
      expect(s.isAnomaly).toBe(a.isAnomaly || b.isAnomaly);
      const decider = ca >= cb ? a : b;
      for (const sensor of ['a', 'b', 'c']) expect(s.contributions[sensor]).toBeCloseTo(decider.contributions[sensor]!, 6);
    });
  });

  it('mean: the members\' average distance in threshold multiples, contributions weighted by each part', async () => {
    const windows = live();
    const [t2, ae, mean] = [await scoreWith(dirs.t2, windows), await scoreWith(dirs.ae, windows), await scoreWith(dirs.mean, windows)];
    mean.forEach((s, i) => {
      const [a, b] = [t2[i]!, ae[i]!];
      const ca = Math.sqrt(a.score / a.threshold);
      const cb = Math.sqrt(b.score / b.threshold);
      expect(s.score).toBeCloseTo((ca + cb) / 2, 6);
      expect(s.isAnomaly).toBe(s.score > 1);
      for (const sensor of ['a', 'b', 'c']) expect(s.contributions[sensor]).toBeCloseTo((ca * a.contributions[sensor]! + cb * b.contributions[sensor]!) / (ca + cb), 6);
    });
  });

  it('reports every single kind on the calibrated scale beside its raw score', async () => {
    const [t2] = [await scoreWith(dirs.t2, live().slice(0, 5))];
    for (const s of t2) expect(s.calibrated).toBeCloseTo(Math.sqrt(s.score / s.threshold), 12);
  });

  it('keeps its members\' per-machine states across a restart (the robust-t2 baseline)', async () => {
    const windows = live();
    const stateFile = path.join(trained.dir, `combined-state-${process.pid}.json`);
    const whole = await scoreWith(dirs.max, windows);
    const registry = await tempRegistry();
    try {
      await cp(dirs.max, path.join(registry.dir, 'model', '1'), { recursive: true });
      await writeFile(path.join(registry.dir, 'model', '1', MODEL_FILES.contract), JSON.stringify({ ...(await readJson(dirs.max, MODEL_FILES.contract)), name: 'model', version: '1' }));
      const options = { registryDir: registry.dir, clock: new ManualClock(), maxBatch: 64, maxDelayMs: 20, pollMs: 3_600_000, stateFile };
      const first = await openScorer(options);
      await scoreWindows(first, windows.slice(0, 70));
      await first.close();
      const restarted = await openScorer(options);
      const rest = (await scoreWindows(restarted, windows.slice(70))).map((o) => (o.kind === 'scored' ? o.score.score : Number.NaN));
      await restarted.close();
      expect(rest).toEqual(whole.slice(70).map((s) => s.score));
      // Without the state file the robust-t2 member would start again at its training level.
      const fresh = await scoreWith(dirs.max, windows.slice(70));
      expect(fresh.map((s) => s.members![0]!.score)).not.toEqual(whole.slice(70).map((s) => s.members![0]!.score));
    } finally {
      await registry.cleanup();
      await rm(stateFile, { force: true });
    }
  });

  it('refuses a contract whose member reads a feature it does not list, or a combined kind without members', async () => {
    const broken = path.join(trained.dir, 'broken');
    await cp(dirs.max, broken, { recursive: true });
    const contract = await readJson(dirs.max, MODEL_FILES.contract);
    const members = contract['members'] as { kind: string; featureNames: string[] }[];
    await writeFile(path.join(broken, MODEL_FILES.contract), JSON.stringify({ ...contract, members: [members[0], { ...members[1], featureNames: ['a.kurtosis'] }] }));
    await expect(readModelFolder(broken)).rejects.toThrow(`${path.join(broken, MODEL_FILES.contract)}: member autoencoder reads a.kurtosis, which is not among featureNames`);
    await writeFile(path.join(broken, MODEL_FILES.contract), JSON.stringify({ ...contract, members: undefined }));
    await expect(readModelFolder(broken)).rejects.toThrow(`${path.join(broken, MODEL_FILES.contract)}: members must be given, with combine, exactly when kind is 'combined'`);
  });
});
