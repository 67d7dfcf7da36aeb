// Models trained today have no slow baseline (MODEL_DEFAULTS.robustT2.tauMs is null); a model file
// may still carry one, and the scorer keeps, decides against and persists it. Tests of that machinery
// give a freshly trained robust-t2 folder a τ as such a file would have it.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_FILES } from '../model/artifact-schemas.js';

export async function giveSlowBaseline(modelDir: string, tauMs: number): Promise<void> {
  const file = path.join(modelDir, MODEL_FILES.robustT2);
  await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, 'utf8')) as object), tauMs }));
}
