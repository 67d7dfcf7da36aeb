// `pdm start`'s scorer state file: the old name's file moved to the new one, and said when both exist.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scorerStateFile } from './scorer-state-file.js';

let temp: string;
let run = 0;
beforeAll(async () => {
  temp = await mkdtemp(path.join(os.tmpdir(), 'pdm-start-state-'));
});
afterAll(() => rm(temp, { recursive: true, force: true }));

/** A new data folder with the given files in its processor folder. */
async function dataDir(files: Record<string, string>): Promise<string> {
  const dir = path.join(temp, `data-${++run}`);
  await mkdir(path.join(dir, 'processor'), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, 'processor', name), text);
  return dir;
}

function start(dir: string): { file: string; lines: string[] } {
  const lines: string[] = [];
  return { file: scorerStateFile(dir, (line) => lines.push(line)), lines };
}

describe('the scorer state file pdm start uses', () => {
  it('is the new name, and one line says so, naming both files, when the old name holds one too', async () => {
    const dir = await dataDir({ 'scorer-state.json': 'old', 'scorer-state.sqlite': 'new' });
    const oldFile = path.join(dir, 'processor', 'scorer-state.json');
    const newFile = path.join(dir, 'processor', 'scorer-state.sqlite');
    expect(start(dir)).toEqual({ file: newFile, lines: [`Scorer state: both ${newFile} and ${oldFile} (an older release's) exist; using ${newFile}, ${oldFile} is ignored`] });
    expect(await readFile(oldFile, 'utf8')).toBe('old');
    expect(await readFile(newFile, 'utf8')).toBe('new');
  });

  it('is the old name\'s file moved to the new name, said in one line', async () => {
    const dir = await dataDir({ 'scorer-state.json': 'old' });
    const newFile = path.join(dir, 'processor', 'scorer-state.sqlite');
    expect(start(dir)).toEqual({ file: newFile, lines: [`Scorer state file renamed to ${newFile}`] });
    expect(await readdir(path.join(dir, 'processor'))).toEqual(['scorer-state.sqlite']);
    expect(await readFile(newFile, 'utf8')).toBe('old');
  });

  it('is the new name, without a word, when only it or neither exists', async () => {
    for (const files of [{ 'scorer-state.sqlite': 'new' }, {}] as Array<Record<string, string>>) {
      const dir = await dataDir(files);
      expect(start(dir)).toEqual({ file: path.join(dir, 'processor', 'scorer-state.sqlite'), lines: [] });
    }
  });
});
