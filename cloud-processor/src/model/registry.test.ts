import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelSet } from '../scoring/model-set.js';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { trainModel } from '../training/train.js';
import { MODEL_FILES } from './artifact-schemas.js';
import { silentLogger } from './logger.js';
import { listRegistry } from './registry.js';

type Registry = Awaited<ReturnType<typeof tempRegistry>>;
let trained: Registry;
let trainedDir: string;
const registries: Registry[] = [];

beforeAll(async () => {
  trained = await tempRegistry();
  trainedDir = (await trainModel(simulatePump({ seed: 2, windows: 30 }).windows, { outDir: trained.dir, name: 'pump', kind: 'autoencoder', epochs: 5 })).dir;
});
afterAll(async () => {
  await trained.cleanup();
  for (const registry of registries.splice(0)) await registry.cleanup();
});

async function emptyRegistry(): Promise<string> {
  const registry = await tempRegistry();
  registries.push(registry);
  return registry.dir;
}

describe('the registry loader', () => {
  it('retries a version copied in place contract first (cp -r) on the next scan, and loads it once its weights are complete', async () => {
    const registryDir = await emptyRegistry();
    const target = path.join(registryDir, 'pump', '1');
    await mkdir(target, { recursive: true });
    // What a plain copy may leave for a moment: contract.json and the small files, no weights yet.
    for (const file of [MODEL_FILES.contract, MODEL_FILES.model, MODEL_FILES.normalization, MODEL_FILES.threshold]) {
      await copyFile(path.join(trainedDir, file), path.join(target, file));
    }
    const models = new ModelSet(registryDir, silentLogger);
    const refresh = () => models.refresh(() => undefined);

    await refresh();
    expect(models.served()).toHaveLength(0);
    expect(models.loadFailures).toBe(1);
    // Nothing changed: not read again (one log line and one count per state of the folder).
    await refresh();
    expect(models.loadFailures).toBe(1);

    // Half the weights written.
    const weights = await readFile(path.join(trainedDir, MODEL_FILES.weights));
    await writeFile(path.join(target, MODEL_FILES.weights), weights.subarray(0, Math.floor(weights.byteLength / 2)));
    await refresh();
    expect(models.served()).toHaveLength(0);
    expect(models.loadFailures).toBe(2);

    // The copy completes: the contract's own mtime never changed, the version loads all the same.
    await writeFile(path.join(target, MODEL_FILES.weights), weights);
    await refresh();
    expect(models.served().map(({ serving }) => `${serving.info.name}@${serving.info.version}`)).toEqual(['pump@1']);
    expect(models.loads).toBe(1);
    expect(models.loadFailures).toBe(2);
    models.dispose();
  });

  it('lists only version folders with a contract.json, never a staging dot-folder', async () => {
    const registryDir = await emptyRegistry();
    for (const version of ['.2.partial-123', '3']) {
      await mkdir(path.join(registryDir, 'pump', version), { recursive: true });
      await copyFile(path.join(trainedDir, MODEL_FILES.contract), path.join(registryDir, 'pump', version, MODEL_FILES.contract));
    }
    await mkdir(path.join(registryDir, 'pump', '4'));
    const listed = await listRegistry(registryDir);
    expect(listed.get('pump')?.map((v) => v.version)).toEqual(['3']);
  });
});
