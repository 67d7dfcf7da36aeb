import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KIND_FILES, MODEL_FILES } from '../model/artifact-schemas.js';
import { readModelFolder } from '../model/artifacts.js';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { TrainingDataError } from './derive-contract.js';
import { trainModel } from './train.js';

const normal = simulatePump({ seed: 4, windows: 40 });
let registry: Awaited<ReturnType<typeof tempRegistry>>;
beforeEach(async () => (registry = await tempRegistry()));
afterEach(() => registry.cleanup());

describe('trainModel', () => {
  it('writes a complete registry folder with the contract, normalisation and a calibrated threshold', async () => {
    const losses: number[] = [];
    const report = await trainModel(normal.windows, { outDir: registry.dir, name: 'pump', kind: 'autoencoder', epochs: 50, onProgress: (_e, loss) => losses.push(loss) });
    if (report.kind !== 'autoencoder') throw new Error(`trained a ${report.kind}`);
    expect(report.version).toBe('1');
    expect(report.dir).toBe(path.join(registry.dir, 'pump', '1'));
    expect((await readdir(report.dir)).sort()).toEqual([MODEL_FILES.contract, ...KIND_FILES.autoencoder].sort());
    expect(losses).toHaveLength(50);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect(report.trainingWindows + report.heldBackWindows).toBe(40);
    // The threshold lies above every held-back normal score (it is at least the largest one × margin).
    expect(report.threshold).toBeGreaterThan(Math.max(...report.heldBackScores));
    const contract = JSON.parse(await readFile(path.join(report.dir, MODEL_FILES.contract), 'utf8')) as Record<string, unknown>;
    expect(contract).toMatchObject({ featureNames: report.contract.featureNames, windowMs: 10_000, featureVersion: 1, name: 'pump', version: '1', trainingWindows: report.trainingWindows });
    expect(contract['kind']).toBe('autoencoder');
    const bundle = await readModelFolder(report.dir);
    if (bundle.kind !== 'autoencoder') throw new Error(`loaded a ${bundle.kind}`);
    expect(bundle.threshold.threshold).toBe(report.threshold);
    bundle.network.dispose();
    const second = await trainModel(normal.windows, { outDir: registry.dir, name: 'pump', kind: 'autoencoder', epochs: 5 });
    expect(second.version).toBe('2');
  });

  it('calibrates the threshold of hopping windows as the independent windows they hold', async () => {
    // The same 1,000 windows twice: tumbling, and as hopping windows 1 s apart (10 s long), as pdm train
    // cuts a short recording. The latter hold 100 windows' worth of readings.
    const windows = simulatePump({ seed: 5, windows: 1_000 }).windows;
    const hopping = windows.map((w, i) => ({ ...w, windowStart: w.windowStart - BigInt(i * 9_000), windowEnd: w.windowEnd - BigInt(i * 9_000) }));
    const calibrationOf = async (report: Awaited<ReturnType<typeof trainModel>>) => {
      const bundle = await readModelFolder(report.dir);
      if (bundle.kind !== 'autoencoder') throw new Error(`loaded a ${bundle.kind}`);
      bundle.network.dispose();
      const { calibration } = bundle.threshold;
      if (!('maxFloor' in calibration)) throw new Error('a calibration of the older format');
      return calibration;
    };
    const asTumbling = await calibrationOf(await trainModel(windows, { outDir: registry.dir, name: 'tumbling', kind: 'autoencoder', epochs: 5 }));
    const asHopping = await calibrationOf(await trainModel(hopping, { outDir: registry.dir, name: 'hopping', kind: 'autoencoder', epochs: 5 }));
    expect(asTumbling.heldBackWindows).toBe(asHopping.heldBackWindows);
    expect(asTumbling.maxFloor).toBe(false);
    // The held-back windows count at a tenth: the maximum floor applies and the tolerance factor is wider.
    expect(asHopping.maxFloor).toBe(true);
    expect(asHopping.tailSigmas).toBeGreaterThan(asTumbling.tailSigmas + 0.5);
  });

  it('is deterministic for a given seed and differs for another', async () => {
    const opts = { outDir: registry.dir, name: 'pump', kind: 'autoencoder' as const, epochs: 60 };
    const a = await trainModel(normal.windows, { ...opts, version: 'a', seed: 1 });
    const b = await trainModel(normal.windows, { ...opts, version: 'b', seed: 1 });
    const c = await trainModel(normal.windows, { ...opts, version: 'c', seed: 2 });
    const weights = (dir: string): Promise<Buffer> => readFile(path.join(dir, MODEL_FILES.weights));
    expect((await weights(a.dir)).equals(await weights(b.dir))).toBe(true);
    expect(a.threshold).toBe(b.threshold);
    expect((await weights(a.dir)).equals(await weights(c.dir))).toBe(false);
  });

  it('refuses too few windows, saying how many it had', async () => {
    await expect(trainModel(normal.windows.slice(0, 8), { outDir: registry.dir })).rejects.toThrow(TrainingDataError);
    await expect(trainModel(normal.windows.slice(0, 8), { outDir: registry.dir })).rejects.toThrow(/8 usable windows/);
  });

  it('never overwrites a published version', async () => {
    await trainModel(normal.windows, { outDir: registry.dir, name: 'pump', version: '7' });
    await expect(trainModel(normal.windows, { outDir: registry.dir, name: 'pump', version: '7' })).rejects.toThrow(/already exists: a published model version is never overwritten/);
    expect(await readdir(path.join(registry.dir, 'pump'))).toEqual(['7']);
  });
});
