// A scorer run as the processor runs it across a restart: with a state file, stopped after
// `restartAfter` windows and started again, the new one first seeing the last two before the stop
// again (a redelivery), then the rest.
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { ManualClock } from '@pdm/clock';
import type { MachineWindow } from '@pdm/proto';
import type { ScoreOutcome, WindowScore } from '../model/api.js';
import { scoreWindows } from '../scoring/score-windows.js';
import { openScorer } from '../scoring/scorer.js';
import { scoresOf } from './scores-of.js';

export interface RestartRun {
  registryDir: string;
  windows: readonly MachineWindow[];
  restartAfter: number;
  /** A folder the state file is made in (a new one inside it for every run). */
  tempDir: string;
  /** The scorers' clock start (epoch ms). */
  now: number;
}

export async function restartOutcomes(run: RestartRun): Promise<{ decided: ScoreOutcome[]; redelivered: ScoreOutcome[]; stateFile: string }> {
  const { registryDir, windows, restartAfter } = run;
  const stateFile = path.join(await mkdtemp(path.join(run.tempDir, 'state-')), 'scorer-state.sqlite');
  const open = () => openScorer({ registryDir, clock: new ManualClock(run.now), pollMs: 3_600_000, stateFile });
  const before = await open();
  const first = await scoreWindows(before, windows.slice(0, restartAfter));
  await before.close();
  const after = await open();
  try {
    const redelivered = await scoreWindows(after, windows.slice(restartAfter - 2, restartAfter));
    const rest = await scoreWindows(after, windows.slice(restartAfter));
    return { decided: [...first, ...rest], redelivered, stateFile };
  } finally {
    await after.close();
  }
}

/** restartOutcomes of windows a test expects all scored. */
export async function restartScores(run: RestartRun): Promise<{ decided: WindowScore[]; redelivered: WindowScore[]; stateFile: string }> {
  const { decided, redelivered, stateFile } = await restartOutcomes(run);
  return { decided: scoresOf(decided), redelivered: scoresOf(redelivered), stateFile };
}
