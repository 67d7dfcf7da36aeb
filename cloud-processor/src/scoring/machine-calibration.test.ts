// What robust-t2 learns about a machine while scoring it — a class model's level for a machine training
// never saw, and a model's online threshold — through the scorer as `pdm score` (no state file) and the
// processor (a state file, a restart) use it: both must decide every window the same.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '@pdm/clock';
import type { MachineWindow } from '@pdm/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScoreOutcome, WindowScore } from '../model/api.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { MODEL_FILES } from '../model/artifact-schemas.js';
import { ONLINE_THRESHOLD } from '../model/online-threshold.js';
import { levelMachineWindows } from '../test-support/level-machine.js';
import { scoresOf } from '../test-support/scores-of.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer } from './scorer.js';
import { readStateFile } from './state-file.js';
import { restartOutcomes, restartScores } from '../test-support/scorer-restart.js';
import { unscoredPoint } from '../sink/points.js';

const TRAIN_START = 1_700_000_000_000;
const LIVE_START = TRAIN_START + 86_400_000;
const LEVEL_WINDOWS = MODEL_DEFAULTS.robustT2.minMachineWindows;

let temp: string;
/** A class model of m-1 (sensor a at 100) and m-2 (a at 108); a one-machine model asking for an online threshold. */
let classRegistry: string;
let onlineRegistry: string;
/** The online model's χ² floor, and its trained threshold (set above the floor, as a training tail sets it). */
let floor: number;
const TRAINED = 60;

beforeAll(async () => {
  temp = await mkdtemp(path.join(os.tmpdir(), 'pdm-machine-calibration-'));
  classRegistry = path.join(temp, 'class');
  const both = [
    ...levelMachineWindows({ seed: 11, windows: LEVEL_WINDOWS, startMs: TRAIN_START }),
    ...levelMachineWindows({ seed: 12, windows: LEVEL_WINDOWS, startMs: TRAIN_START, machineId: 'm-2', offsetA: () => 8 }),
  ];
  await trainModel(both, { outDir: classRegistry, name: 'class', version: '1', kind: 'robust-t2' });

  onlineRegistry = path.join(temp, 'online');
  const { dir } = await trainModel(levelMachineWindows({ seed: 1, windows: 300, startMs: TRAIN_START }), { outDir: onlineRegistry, name: 'online', version: '1', kind: 'robust-t2' });
  const file = path.join(dir, MODEL_FILES.robustT2);
  const model = JSON.parse(await readFile(file, 'utf8')) as { threshold: number; fit: { chiSquare: number } };
  floor = model.fit.chiSquare;
  await writeFile(file, JSON.stringify({ ...model, threshold: TRAINED, onlineThreshold: { falseAlertsPerDay: 1, floor } }));
});
afterAll(() => rm(temp, { recursive: true, force: true }));

/** As `pdm score` runs: one scorer, no state file; its outcomes and how many windows it held as calibrating. */
async function scoreOutcomes(registryDir: string, windows: readonly MachineWindow[]): Promise<{ outcomes: ScoreOutcome[]; calibrating: number }> {
  const scorer = await openScorer({ registryDir, clock: new ManualClock(LIVE_START), pollMs: 3_600_000 });
  try {
    const outcomes = await scoreWindows(scorer, windows);
    return { outcomes, calibrating: scorer.stats().held.calibrating };
  } finally {
    await scorer.close();
  }
}

async function scoreOnce(registryDir: string, windows: readonly MachineWindow[]): Promise<WindowScore[]> {
  return scoresOf((await scoreOutcomes(registryDir, windows)).outcomes);
}

/** As the processor runs: a state file and a restart (test-support/scorer-restart.ts). */
const scoreWithRestart = (registryDir: string, windows: readonly MachineWindow[], restartAfter: number) => restartScores({ registryDir, windows, restartAfter, tempDir: temp, now: LIVE_START });

const CALIBRATING: ScoreOutcome = { kind: 'held', reason: 'calibrating' };

describe("a class model and a machine its training never saw (m-3, sensor a at 116, 8 above m-2's)", () => {
  // Healthy at its own level for LEVEL_WINDOWS + 200 windows, then sensor a 8 units (8 %) higher for 100.
  const windows = levelMachineWindows({ seed: 13, windows: LEVEL_WINDOWS + 300, startMs: LIVE_START, machineId: 'm-3', offsetA: (w) => (w < LEVEL_WINDOWS + 200 ? 16 : 24) });

  it('is held (calibrating) for its first 2,000 windows while its level is learnt, then compared with the level it learnt from them', async () => {
    const { outcomes, calibrating } = await scoreOutcomes(classRegistry, windows);
    // 16 units from m-1 and 8 from m-2 (every one of these windows would exceed against the class
    // location): held, so no alert opens, and counted.
    expect(outcomes.slice(0, LEVEL_WINDOWS)).toEqual(Array.from({ length: LEVEL_WINDOWS }, () => CALIBRATING));
    expect(calibrating).toBe(LEVEL_WINDOWS);
    // From the 2,001st window its own level: healthy is quiet, and a step of 8 units (8 %) still alarms throughout.
    const decided = scoresOf(outcomes.slice(LEVEL_WINDOWS));
    expect(decided.slice(0, 200).filter((s) => s.isAnomaly)).toHaveLength(0);
    expect(decided.slice(200).every((s) => s.isAnomaly)).toBe(true);
  });

  it('keeps its level in the state file: a processor restarted halfway through the calibration decides every window as pdm score', async () => {
    const { outcomes: reference } = await scoreOutcomes(classRegistry, windows);
    const { decided, redelivered, stateFile } = await restartOutcomes({ registryDir: classRegistry, windows, restartAfter: 1_000, tempDir: temp, now: LIVE_START });
    expect(decided).toEqual(reference);
    expect(redelivered).toEqual([CALIBRATING, CALIBRATING]);
    // After the run the level is learnt: no residuals left in the file, the baseline moved by ~16 on a.mean.
    const [entry] = readStateFile(stateFile).robustT2;
    expect(entry!.state.level).toBeUndefined();
    const location = (JSON.parse(await readFile(path.join(classRegistry, 'class', '1', MODEL_FILES.robustT2), 'utf8')) as { location: number[] }).location;
    expect(entry!.state.baseline[0]! - location[0]!).toBeGreaterThan(10);
  });

  it('holds a window of the calibration again when it is redelivered after the level is learnt', async () => {
    const scorer = await openScorer({ registryDir: classRegistry, clock: new ManualClock(LIVE_START), pollMs: 3_600_000 });
    try {
      const first = await scoreWindows(scorer, windows.slice(0, LEVEL_WINDOWS + 5));
      const again = await scoreWindows(scorer, [windows[LEVEL_WINDOWS - 1]!, windows[LEVEL_WINDOWS]!]);
      expect(again).toEqual([CALIBRATING, first[LEVEL_WINDOWS]]);
      expect(first[LEVEL_WINDOWS]!.kind).toBe('scored');
    } finally {
      await scorer.close();
    }
  });

  it("tells why in the window's unscored point", () => {
    const [window] = levelMachineWindows({ seed: 15, windows: 1, startMs: LIVE_START, machineId: 'm-3' });
    expect(unscoredPoint(window!, CALIBRATING).fields).toEqual({ windows: 1, detail: "held: learning this new machine's level from its first 2000 windows (no alert until then)" });
  });

  it('a machine training knew is not calibrated again', async () => {
    const m2 = levelMachineWindows({ seed: 14, windows: 100, startMs: LIVE_START, machineId: 'm-2', offsetA: () => 8 });
    const { stateFile, decided } = await scoreWithRestart(classRegistry, m2, 50);
    expect(decided.filter((s) => s.isAnomaly)).toHaveLength(0);
    expect(readStateFile(stateFile).robustT2[0]!.state.level).toBeUndefined();
  });
});

describe('a model with an online threshold', () => {
  const calibration = ONLINE_THRESHOLD.calibrationWindows;
  const windows = levelMachineWindows({ seed: 21, windows: calibration + 1_500, startMs: LIVE_START });

  it('judges by the trained threshold until the machine has 2,000 normal windows, then by its own (never below the χ² floor)', async () => {
    const decided = await scoreOnce(onlineRegistry, windows);
    expect(decided.slice(0, calibration).every((s) => s.threshold === TRAINED)).toBe(true);
    const own = decided.slice(calibration).map((s) => s.threshold);
    expect(own.every((t) => t < TRAINED && t >= floor)).toBe(true);
  });

  it('keeps it in the state file: a restarted processor decides every window as pdm score does, a redelivery included', async () => {
    const reference = await scoreOnce(onlineRegistry, windows);
    const restartAfter = calibration + 700;
    const { decided, redelivered, stateFile } = await scoreWithRestart(onlineRegistry, windows, restartAfter);
    expect(decided).toEqual(reference);
    expect(redelivered).toEqual(reference.slice(restartAfter - 2, restartAfter));
    const [entry] = readStateFile(stateFile).robustT2;
    expect(entry!.state.online!.spot).not.toBeNull();
    // Without the state file the machine calibrates afresh: the trained threshold again.
    const forgotten = await scoreOnce(onlineRegistry, windows.slice(restartAfter));
    expect(forgotten.every((s) => s.threshold === TRAINED)).toBe(true);
  });
});
