// A model file may carry a slow baseline (training gives one where it was short, MODEL_DEFAULTS.robustT2),
// and the scorer keeps, decides against and persists it. Tests of that machinery give a freshly trained
// robust-t2 folder the τ they want, as such a file would have it.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_FILES } from '../model/artifact-schemas.js';

export async function giveSlowBaseline(modelDir: string, tauMs: number): Promise<void> {
  const file = path.join(modelDir, MODEL_FILES.robustT2);
  await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, 'utf8')) as object), tauMs }));
}
