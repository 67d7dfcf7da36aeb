// Publishing a model folder on a registry that other trainings share (containers on one volume, all
// pid 1): each writes into a staging folder of its own, and never writes into or removes another's
// while it is being written; one that a killed training left is removed once it is stale.
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { trainModel } from '../training/train.js';
import { MODEL_FILES } from './artifact-schemas.js';
import { STALE_STAGING_MS } from './artifacts.js';

const normal = simulatePump({ seed: 4, windows: 40 });
let registry: Awaited<ReturnType<typeof tempRegistry>>;
beforeEach(async () => (registry = await tempRegistry()));
afterEach(() => registry.cleanup());

describe('writeModelFolder', () => {
  it("publishes the version without touching another run's staging folder, also when the version exists already", async () => {
    const modelDir = path.join(registry.dir, 'pump');
    // Another training of version 1, half-way, in the staging folder the pid alone used to name.
    const others = path.join(modelDir, `.1.partial-${process.pid}`);
    await mkdir(others, { recursive: true });
    await writeFile(path.join(others, MODEL_FILES.robustT2), 'half written by another run');

    const report = await trainModel(normal.windows, { outDir: registry.dir, name: 'pump', kind: 'robust-t2' });
    expect(report.dir).toBe(path.join(modelDir, '1'));
    expect(JSON.parse(await readFile(path.join(report.dir, MODEL_FILES.robustT2), 'utf8'))).toMatchObject({ featureNames: report.contract.featureNames });
    await expect(trainModel(normal.windows, { outDir: registry.dir, name: 'pump', kind: 'robust-t2', version: '1' })).rejects.toThrow(
      `${report.dir} already exists: a published model version is never overwritten`,
    );

    expect(await readFile(path.join(others, MODEL_FILES.robustT2), 'utf8')).toBe('half written by another run');
    // Neither training left a staging folder of its own behind.
    expect((await readdir(modelDir)).sort()).toEqual([`.1.partial-${process.pid}`, '1']);
  });

  it('removes staging folders a killed write left, once untouched for STALE_STAGING_MS, and keeps those still being written', async () => {
    const modelDir = path.join(registry.dir, 'pump');
    const old = (Date.now() - STALE_STAGING_MS - 60_000) / 1000;
    /** A staging folder with one file; `stale`: the file and then the folder last touched before the bound. */
    const staging = async (name: string, stale: { folder: boolean; file: boolean }) => {
      const folder = path.join(modelDir, name);
      await mkdir(folder, { recursive: true });
      await writeFile(path.join(folder, MODEL_FILES.weights), 'half written');
      if (stale.file) await utimes(path.join(folder, MODEL_FILES.weights), old, old);
      if (stale.folder) await utimes(folder, old, old);
    };
    await staging('.1.partial-killed', { folder: true, file: true });
    // A removal that was itself killed half-way.
    await staging('.2.partial-killed.removing', { folder: true, file: true });
    // Other trainings writing now: one just started, one long at a large file.
    await staging('.3.partial-live', { folder: false, file: false });
    await staging('.4.partial-writing', { folder: true, file: false });
    // Not a staging folder.
    await staging('.archive', { folder: true, file: true });

    await trainModel(normal.windows, { outDir: registry.dir, name: 'pump', kind: 'robust-t2' });
    expect((await readdir(modelDir)).sort()).toEqual(['.3.partial-live', '.4.partial-writing', '.archive', '1']);
  });
});
