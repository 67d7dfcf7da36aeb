// Detection on the live feature path of `pdm start`: the simulator's four demo pumps (operating regimes,
// load steps, stops, 1 kHz vibration) windowed by the gateway's window engine, one model (the default
// kind) for the four, trained on exactly the windows the bootstrap trains on: ten minutes of every hour
// of a simulated day. A model of one hour alarmed on every healthy pump at another time of day (the
// plant's ambient and load follow the day): a restart of `pdm start` hours later locked into alarm.
import { demoFleetWindows, demoTrainingWindows } from '@pdm/cli/demo';
import { evaluateDetection, openScorer, scoreWindows, trainModel, type ModelScorer, type TrainReport } from '@pdm/cloud-processor';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** 2023-11-14 22:00 UTC: the bootstrap trains on the day before (2023-11-13), one run an hour. */
const NOW = 1_700_000_000_000 - (1_700_000_000_000 % HOUR_MS);
/** Live operation starts when the bootstrap is done, as in `pdm start`. */
const LIVE_START = NOW;
const ONSET = LIVE_START + 10 * 60_000;
/** The live fleet's seed (cli/src/local/demo-fleet.ts); training runs never use it. */
const LIVE_SEED = 42;

let registryDir: string;
let scorer: ModelScorer;
let report: TrainReport;

beforeAll(async () => {
  registryDir = await mkdtemp(join(tmpdir(), 'pdm-demo-fleet-registry-'));
  report = await trainModel(demoTrainingWindows(NOW), { outDir: registryDir, name: 'pump' });
  scorer = await openScorer({ registryDir, maxDelayMs: 0, maxBatch: 256, pollMs: 3_600_000 });
}, 120_000);
afterAll(async () => {
  await scorer.close();
  await rm(registryDir, { recursive: true, force: true });
});

describe('the demo fleet', () => {
  it('learns without the stop: the running-state gate holds it out of training', () => {
    if (report.kind !== 'robust-t2') throw new Error(`the demo fleet's default model is robust-t2, got ${report.kind}`);
    expect(report.regime?.sensors.length).toBeGreaterThan(0);
    expect(report.skipped['held (stopped)']).toBeGreaterThan(0);
    // No training window is above the threshold the model will score with.
    expect(report.fit.trainingAbove).toBe(0);
  });

  it('raises at most 2% false alarms over an unseen hour of healthy operation', async () => {
    const windows = demoFleetWindows({ seed: LIVE_SEED, startMs: LIVE_START, durationMs: HOUR_MS });
    const result = evaluateDetection(await scoreWindows(scorer, windows), windows.map(() => false));
    expect(result.unscored).toBe(0);
    // The demo's load steps and stops are held by the running-state gate, not scored: a few windows.
    expect(result.held).toBeLessThan(0.02 * windows.length);
    expect(result.evaluated + result.held).toBe(windows.length);
    expect(result.evaluated).toBeGreaterThan(1400);
    expect(result.falseAlarmRate).toBeLessThanOrEqual(0.02);
  }, 30_000);

  it('stays quiet when the demo comes back hours later, at every time of day, with the state it kept', async () => {
    // One scorer throughout: what a restart with the processor's state file carries over.
    const restarted = await openScorer({ registryDir, maxDelayMs: 0, maxBatch: 256, pollMs: 3_600_000 });
    try {
      const rates: Record<string, number> = {};
      for (const laterH of [3, 9, 15, 21]) {
        const startMs = LIVE_START + laterH * HOUR_MS;
        const windows = demoFleetWindows({ seed: LIVE_SEED, startMs, durationMs: HOUR_MS / 2 });
        const result = evaluateDetection(await scoreWindows(restarted, windows), windows.map(() => false));
        expect(result.evaluated).toBeGreaterThan(0.95 * windows.length);
        rates[`${new Date(startMs % DAY_MS).toISOString().slice(11, 16)} UTC`] = result.falseAlarmRate;
      }
      expect(Object.keys(rates)).toHaveLength(4);
      // Any time of day above 2 % is named with its rate.
      expect(Object.entries(rates).filter(([, rate]) => rate > 0.02)).toEqual([]);
    } finally {
      await restarted.close();
    }
  }, 60_000);

  it('detects an imbalance developing on one pump from its onset and blames the vibration sensor', async () => {
    const windows = demoFleetWindows({
      seed: LIVE_SEED,
      startMs: LIVE_START,
      durationMs: HOUR_MS,
      faults: [{ machine: 'pump-3', fault: 'imbalance', onset: ONSET, failure: ONSET + 6 * HOUR_MS }],
    });
    const labels = windows.map((w) => w.machineId === 'pump-3' && Number(w.windowStart) >= ONSET);
    const outcomes = await scoreWindows(scorer, windows);
    const result = evaluateDetection(outcomes, labels);
    expect(result.truePositives + result.falseNegatives).toBeGreaterThan(250);
    expect(result.recall).toBeGreaterThanOrEqual(0.9);
    expect(result.falseAlarmRate).toBeLessThanOrEqual(0.02);
    const faulty = outcomes.filter((o, i) => labels[i] && o.kind === 'scored' && o.score.isAnomaly);
    const blamed = faulty.filter((o) => o.kind === 'scored' && Object.entries(o.score.contributions).sort((a, b) => b[1] - a[1])[0]![0] === 'vibration');
    expect(blamed.length).toBeGreaterThanOrEqual(0.9 * faulty.length);
  }, 30_000);
});
