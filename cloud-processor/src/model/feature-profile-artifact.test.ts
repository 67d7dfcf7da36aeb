// feature-profile.json in a model folder: written by training for every kind, optional on load (older
// models), refused when it does not describe the contract's features.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { trainModel } from '../training/train.js';
import { MODEL_FILES } from './artifact-schemas.js';
import { ModelLoadError, readModelFolder } from './artifacts.js';
import { disposeBundle } from './model-bundle.js';

const normal = simulatePump({ seed: 4, windows: 40 });
let registry: Awaited<ReturnType<typeof tempRegistry>>;
beforeEach(async () => (registry = await tempRegistry()));
afterEach(() => registry.cleanup());

describe('feature-profile.json', () => {
  it.each(['robust-t2', 'adaptive-z', 'autoencoder'] as const)('is written by training a %s and loaded with it', async (kind) => {
    const report = await trainModel(normal.windows, { outDir: registry.dir, name: 'pump', kind, epochs: 5 });
    const bundle = await readModelFolder(report.dir);
    disposeBundle(bundle);
    expect(bundle.profile?.featureNames).toEqual(report.contract.featureNames);
    // Every training window, held-back ones included (40 windows: 2 bins each).
    expect(bundle.profile?.windows).toBe(report.trainingWindows + report.heldBackWindows);
    for (const feature of bundle.profile!.features) expect(feature.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('is optional: a model trained before profiles loads without one', async () => {
    const report = await trainModel(normal.windows, { outDir: registry.dir, name: 'pump', kind: 'robust-t2' });
    await rm(path.join(report.dir, MODEL_FILES.featureProfile));
    const bundle = await readModelFolder(report.dir);
    expect(bundle.kind).toBe('robust-t2');
    expect(bundle.profile).toBeUndefined();
  });

  it('refuses the model when the profile is broken or describes other features, naming the file', async () => {
    const report = await trainModel(normal.windows, { outDir: registry.dir, name: 'pump', kind: 'robust-t2' });
    const file = path.join(report.dir, MODEL_FILES.featureProfile);
    const profile = JSON.parse(await readFile(file, 'utf8')) as { featureNames: string[]; features: { shares: number[] }[] };
    await writeFile(file, JSON.stringify({ ...profile, featureNames: [...profile.featureNames].reverse() }));
    await expect(readModelFolder(report.dir)).rejects.toThrow(ModelLoadError);
    await expect(readModelFolder(report.dir)).rejects.toThrow(`${file}: features differ from contract.json`);
    profile.features[0]!.shares[0] = 2;
    await writeFile(file, JSON.stringify(profile));
    await expect(readModelFolder(report.dir)).rejects.toThrow(`${file}: features.0.shares.0 must be in [0, 1]`);
  });

  it('refuses a profile with more bins than drift monitoring counts (256 a feature), naming the file', async () => {
    const report = await trainModel(normal.windows, { outDir: registry.dir, name: 'pump', kind: 'robust-t2' });
    const file = path.join(report.dir, MODEL_FILES.featureProfile);
    const profile = JSON.parse(await readFile(file, 'utf8')) as { features: { edges: number[]; shares: number[] }[] };
    // 256 bins (255 edges) is the most that loads; 257 is refused.
    const binned = (bins: number) => ({ edges: Array.from({ length: bins - 1 }, (_, i) => i), shares: Array.from({ length: bins }, (_, i) => (i === 0 ? 1 : 0)) });
    profile.features[1] = binned(256);
    await writeFile(file, JSON.stringify(profile));
    disposeBundle(await readModelFolder(report.dir));
    profile.features[1] = binned(257);
    await writeFile(file, JSON.stringify(profile));
    await expect(readModelFolder(report.dir)).rejects.toThrow(`${file}: features.1.edges must have at most 255 entries`);
  });
});
