// The layout of a model registry: <registry>/<model-name>/<version>/. Versions sort numerically where
// they are numbers ("10" after "9") and as text otherwise, so integers and ISO dates both work. A
// version folder counts only once its contract.json exists (written last); dot-folders are staging.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_FILES } from './artifact-schemas.js';

const collator = new Intl.Collator('en', { numeric: true });

export function compareVersions(a: string, b: string): number {
  return collator.compare(a, b);
}

export interface VersionEntry {
  name: string;
  version: string;
  dir: string;
  /** mtime of contract.json: a version rewritten in place is seen as new. */
  stamp: number;
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Complete versions of every model, newest first within each model name. */
export async function listRegistry(registryDir: string): Promise<Map<string, VersionEntry[]>> {
  const models = new Map<string, VersionEntry[]>();
  for (const name of (await subfolders(registryDir)).sort()) {
    const versions: VersionEntry[] = [];
    for (const version of await subfolders(path.join(registryDir, name))) {
      const dir = path.join(registryDir, name, version);
      const contract = await stat(path.join(dir, MODEL_FILES.contract)).catch(() => undefined);
      if (contract?.isFile()) versions.push({ name, version, dir, stamp: contract.mtimeMs });
    }
    versions.sort((a, b) => compareVersions(b.version, a.version));
    if (versions.length > 0) models.set(name, versions);
  }
  return models;
}

/** The version after the highest integer version of `name` ("1" for a new model). */
export async function nextVersion(registryDir: string, name: string): Promise<string> {
  const numbers = (await subfolders(path.join(registryDir, name))).filter((v) => /^\d+$/.test(v)).map(Number);
  return String(numbers.length === 0 ? 1 : Math.max(...numbers) + 1);
}
