// Each machine's own online threshold for the kinds that score a window by itself (pca, the autoencoder),
// through the scorer as `pdm score` (no state file) and the processor (a state file, a restart) use it.
// The models' floors are lowered by hand below their trained thresholds, so that a machine's own
// threshold, once calibrated, shows at once as a different number (pdm train floors it at the trained
// one: on these steady windows it would stay there).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '@pdm/clock';
import type { MachineWindow } from '@pdm/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WindowScore } from '../model/api.js';
import { MODEL_FILES } from '../model/artifact-schemas.js';
import { parseKind } from '../model/combined.js';
import { ONLINE_THRESHOLD } from '../model/online-threshold.js';
import { levelMachineWindows } from '../test-support/level-machine.js';
import { scoresOf } from '../test-support/scores-of.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer } from './scorer.js';
import { readStateFile } from './state-file.js';
import { restartScores } from '../test-support/scorer-restart.js';

const TRAIN_START = 1_700_000_000_000;
const LIVE_START = TRAIN_START + 86_400_000;
const CALIBRATION = ONLINE_THRESHOLD.calibrationWindows;

let temp: string;
const registries: Record<'pca' | 'autoencoder' | 'combined' | 'fixed', string> = { pca: '', autoencoder: '', combined: '', fixed: '' };
/** The trained thresholds: pca's is 1; the autoencoder's from its held-back windows. */
let autoencoderTrained: number;

/** Rewrites a model file's onlineThreshold floor to a share of its trained threshold. */
async function lowerFloor(file: string, trained: number): Promise<void> {
  const model = JSON.parse(await readFile(file, 'utf8')) as { onlineThreshold: { falseAlertsPerDay: number; floor: number } };
  expect(model.onlineThreshold).toEqual({ falseAlertsPerDay: 1, floor: trained });
  await writeFile(file, JSON.stringify({ ...model, onlineThreshold: { ...model.onlineThreshold, floor: trained / 100 } }));
}

beforeAll(async () => {
  temp = await mkdtemp(path.join(os.tmpdir(), 'pdm-machine-thresholds-'));
  const training = levelMachineWindows({ seed: 1, windows: 300, startMs: TRAIN_START });
  for (const kind of ['pca', 'autoencoder', 'combined', 'fixed'] as const) registries[kind] = path.join(temp, kind);
  const pca = await trainModel(training, { outDir: registries.pca, name: 'online', version: '1', kind: 'pca' });
  await lowerFloor(path.join(pca.dir, MODEL_FILES.pca), 1);
  const autoencoder = await trainModel(training, { outDir: registries.autoencoder, name: 'online', version: '1', kind: 'autoencoder', epochs: 60 });
  autoencoderTrained = autoencoder.threshold;
  await lowerFloor(path.join(autoencoder.dir, MODEL_FILES.threshold), autoencoderTrained);
  const combined = await trainModel(training, { outDir: registries.combined, name: 'online', version: '1', kind: parseKind('pca+autoencoder'), epochs: 60 });
  await lowerFloor(path.join(combined.dir, MODEL_FILES.pca), 1);
  await trainModel(training, { outDir: registries.fixed, name: 'online', version: '1', kind: 'pca', onlineThreshold: false });
});
afterAll(() => rm(temp, { recursive: true, force: true }));

async function scoreOnce(registryDir: string, windows: readonly MachineWindow[]): Promise<WindowScore[]> {
  const scorer = await openScorer({ registryDir, clock: new ManualClock(LIVE_START), pollMs: 3_600_000 });
  try {
    return scoresOf(await scoreWindows(scorer, windows));
  } finally {
    await scorer.close();
  }
}

/** As the processor runs: a state file and a restart (test-support/scorer-restart.ts). */
const scoreWithRestart = (registryDir: string, windows: readonly MachineWindow[], restartAfter: number) => restartScores({ registryDir, windows, restartAfter, tempDir: temp, now: LIVE_START });

// Healthy windows: the calibration's 2,000 and 300 after it.
const windows = levelMachineWindows({ seed: 21, windows: CALIBRATION + 300, startMs: LIVE_START });

describe.each([
  { kind: 'pca' as const, trained: (): number => 1 },
  { kind: 'autoencoder' as const, trained: (): number => autoencoderTrained },
])('a $kind model with an online threshold', ({ kind, trained }) => {
  it("judges by the trained threshold until the machine has 2,000 normal windows, then by its own (between the floor and the trained one); each window's score is the kind's own", async () => {
    const decided = await scoreOnce(registries[kind], windows);
    expect(decided).toHaveLength(windows.length);
    expect(decided.slice(0, CALIBRATION).every((s) => s.threshold === trained())).toBe(true);
    const own = decided.slice(CALIBRATION).map((s) => s.threshold);
    expect(own.every((t) => t < trained() && t >= trained() / 100)).toBe(true);
    for (const s of decided) {
      expect(s.isAnomaly).toBe(s.score > s.threshold);
      expect(s.calibrated).toBeCloseTo(Math.sqrt(s.score / s.threshold), 12);
    }
  });

  it('keeps it in the state file: a restarted processor decides every window as pdm score does, a redelivery as before', async () => {
    const reference = await scoreOnce(registries[kind], windows);
    const restartAfter = CALIBRATION + 100;
    const { decided, redelivered, stateFile } = await scoreWithRestart(registries[kind], windows, restartAfter);
    expect(decided).toEqual(reference);
    expect(redelivered).toEqual(reference.slice(restartAfter - 2, restartAfter));
    // The threshold moved on after them: the redelivered windows got the ones they were decided against.
    expect(redelivered.map((s) => s.threshold)).not.toContain(reference.at(-1)!.threshold);
    const saved = readStateFile(stateFile)[kind === 'pca' ? 'pcaThresholds' : 'autoencoderThresholds'];
    expect(saved.map((e) => [e.model, e.machineId, e.state.decidedUntil])).toEqual([['online', 'm-1', Number(windows.at(-1)!.windowEnd)]]);
    expect(saved[0]!.state.online.spot).not.toBeNull();
    // Without the state file the machine calibrates afresh: the trained threshold again.
    const forgotten = await scoreOnce(registries[kind], windows.slice(restartAfter));
    expect(forgotten.every((s) => s.threshold === trained())).toBe(true);
  });
});

describe('thresholds per machine and per member', () => {
  it("keeps one machine's threshold from another's: a machine seen first after another calibrated starts at the trained one", async () => {
    const other = levelMachineWindows({ seed: 22, windows: 50, startMs: LIVE_START + windows.length * 10_000, machineId: 'm-2' });
    const decided = await scoreOnce(registries.pca, [...windows, ...other]);
    expect(decided.at(windows.length - 1)!.threshold).toBeLessThan(1);
    expect(decided.slice(windows.length).every((s) => s.machineId === 'm-2' && s.threshold === 1)).toBe(true);
  });

  it("gives a combined model's members each its own: pca's calibrated below 1, the autoencoder's at its trained floor", async () => {
    const stateFile = path.join(await mkdtemp(path.join(temp, 'state-')), 'scorer-state.sqlite');
    const scorer = await openScorer({ registryDir: registries.combined, clock: new ManualClock(LIVE_START), pollMs: 3_600_000, stateFile });
    const decided = scoresOf(await scoreWindows(scorer, windows));
    await scorer.close();
    const last = decided.at(-1)!;
    expect(last.threshold).toBe(1);
    const [pca, autoencoder] = last.members!;
    expect(pca!.kind).toBe('pca');
    expect(pca!.threshold).toBeLessThan(1);
    expect(autoencoder!.kind).toBe('autoencoder');
    const saved = readStateFile(stateFile);
    expect(saved.pcaThresholds.map((e) => e.model)).toEqual(['online']);
    expect(saved.autoencoderThresholds.map((e) => e.model)).toEqual(['online']);
    // Each member learnt its own scores: the two states differ.
    expect(saved.pcaThresholds[0]!.state.online.recent).not.toEqual(saved.autoencoderThresholds[0]!.state.online.recent);
    expect(autoencoder!.threshold).toBe(saved.autoencoderThresholds[0]!.state.recent.at(-1)!.threshold);
  });

  it('judges every machine by 1 for a pca model trained with a fixed threshold, and keeps no state for it', async () => {
    const stateFile = path.join(await mkdtemp(path.join(temp, 'state-')), 'scorer-state.sqlite');
    const scorer = await openScorer({ registryDir: registries.fixed, clock: new ManualClock(LIVE_START), pollMs: 3_600_000, stateFile });
    const decided = scoresOf(await scoreWindows(scorer, windows.slice(0, 100)));
    await scorer.close();
    expect(decided.every((s) => s.threshold === 1)).toBe(true);
    expect(readStateFile(stateFile).pcaThresholds).toEqual([]);
  });
});
