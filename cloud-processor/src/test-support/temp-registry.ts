import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A registry folder under the OS temp dir, removed by the returned cleanup. */
export async function tempRegistry(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pdm-model-registry-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
