// The scorer's state file under a `pdm start` data folder. It is an SQLite database named
// scorer-state.sqlite; data folders of older releases hold it (or the JSON file it was before format 3)
// under the name scorer-state.json, which is moved to the new name on start.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { renameStateFile } from '@pdm/cloud-processor';

/**
 * The state file the processor under `dataDir` uses, the old name's file moved to it first. When both
 * names hold a file (an older release started again after an upgrade, then this one), the new one is
 * used and the old one left as it is: says so, as the old one may hold newer state.
 */
export function scorerStateFile(dataDir: string, out: (line: string) => void): string {
  const stateFile = join(dataDir, 'processor', 'scorer-state.sqlite');
  const oldFile = join(dataDir, 'processor', 'scorer-state.json');
  if (renameStateFile(oldFile, stateFile)) out(`Scorer state file renamed to ${stateFile}`);
  else if (existsSync(oldFile)) out(`Scorer state: both ${stateFile} and ${oldFile} (an older release's) exist; using ${stateFile}, ${oldFile} is ignored`);
  return stateFile;
}
