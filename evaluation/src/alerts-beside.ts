// The alerts file pdm score writes beside a scores file, read for the commands that take --scores paths.
import { readFile } from 'node:fs/promises';
import { alertsFileFor } from './scores-csv.js';

/**
 * The alerts file beside `scoresPath`, as parseScoresCsv takes it; undefined when there is none (scores
 * written before it, or by another tool): their windows then carry no alerts.
 */
export async function readAlertsBeside(scoresPath: string): Promise<{ text: string; source: string } | undefined> {
  const source = alertsFileFor(scoresPath);
  try {
    return { text: await readFile(source, 'utf8'), source };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${source}: ${(error as Error).message}`);
  }
}
