import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MODEL_FILES } from '../model/artifact-schemas.js';

/** A registry folder under the OS temp dir, removed by the returned cleanup. */
export async function tempRegistry(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pdm-model-registry-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Publishes the trained folder `from` as `name@version` in the registry at `registryDir`, its
 * contract.json (edited by `edit`) written last: a version counts once its contract is there.
 */
export async function publishModel(
  registryDir: string,
  from: string,
  name: string,
  version: string,
  edit: (contract: Record<string, unknown>) => Record<string, unknown> = (contract) => contract,
): Promise<void> {
  const dir = path.join(registryDir, name, version);
  await cp(from, dir, { recursive: true, filter: (src) => !src.endsWith(MODEL_FILES.contract) });
  const contract = JSON.parse(await readFile(path.join(from, MODEL_FILES.contract), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(dir, MODEL_FILES.contract), JSON.stringify(edit({ ...contract, name, version })));
}
