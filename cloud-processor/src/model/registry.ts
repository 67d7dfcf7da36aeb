// The layout of a model registry: <registry>/<model-name>/<version>/. Versions sort numerically where
// they are numbers ("10" after "9") and as text otherwise, so integers and ISO dates both work. A
// version folder counts only once its contract.json exists (`pdm train` writes it last and publishes
// the folder with a rename); dot-folders are staging. A folder copied in place (`cp -r`) may show its
// contract before its weights: its stamp covers every file, so a version refused while incomplete is
// tried again once the rest of it lands.
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
  /**
   * Name, size and mtime of every file in the folder: a version rewritten in place, or one whose
   * files were still arriving when it was last read, is seen as new.
   */
  stamp: string;
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

async function folderStamp(dir: string): Promise<string> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  const files = await Promise.all(names.map(async (name) => {
    const { size, mtimeMs } = await stat(path.join(dir, name));
    return `${name}:${size}:${mtimeMs}`;
  }));
  return files.join('|');
}

/** `undefined` when the file or folder is not there (ENOENT); any other error (EIO, ESTALE) is thrown. */
const unlessMissing = (error: unknown): undefined => {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
};

/**
 * Versions of every model that have a contract.json, newest first within each model name. Only a
 * version that is not there is left out: a registry read that fails otherwise (a network volume
 * dropping) throws, so the caller keeps what it had rather than taking every version for removed.
 */
export async function listRegistry(registryDir: string): Promise<Map<string, VersionEntry[]>> {
  const models = new Map<string, VersionEntry[]>();
  for (const name of (await subfolders(registryDir)).sort()) {
    const versions: VersionEntry[] = [];
    for (const version of await subfolders(path.join(registryDir, name))) {
      const dir = path.join(registryDir, name, version);
      const contract = await stat(path.join(dir, MODEL_FILES.contract)).catch(unlessMissing);
      if (!contract?.isFile()) continue;
      // undefined: the folder was removed while we looked.
      const stamp = await folderStamp(dir).catch(unlessMissing);
      if (stamp !== undefined) versions.push({ name, version, dir, stamp });
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
