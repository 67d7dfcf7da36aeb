// The adaptive-z kind through the registry-backed scorer, as pdm score and the processor use it.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ManualClock } from '@pdm/clock';
import { CloseReason, create, MachineWindowSchema, SensorStatsSchema, type MachineWindow } from '@pdm/proto';
import { twoPassStatistics } from '@pdm/proto/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MODEL_FILES } from '../model/artifact-schemas.js';
import { gaussian } from '../test-support/synthetic-pump.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { scoresOf } from '../test-support/scores-of.js';
import { windowOfReadings } from '../test-support/windows.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer, type ModelScorer } from './scorer.js';

const WINDOW_MS = 300_000;
const PERIOD = 48; // a "day" of 48 five-minute windows
const START = 1_700_000_000_000 - (1_700_000_000_000 % WINDOW_MS);

/** One reading per 5-minute window of a temperature with a daily cycle; `offset` adds to window w. */
function slowWindows(options: { seed: number; from: number; count: number; machineId?: string; offset?: (w: number) => number }): MachineWindow[] {
  const rand = gaussian(options.seed);
  return Array.from({ length: options.count }, (_, i) => {
    const w = options.from + i;
    const value = 40 + 5 * Math.sin((2 * Math.PI * w) / PERIOD) + 0.5 * rand() + (options.offset?.(w) ?? 0);
    return windowOfReadings({ machineId: options.machineId ?? 'oven-1', startMs: START + w * WINDOW_MS, windowMs: WINDOW_MS, readings: { temp: [value] } });
  });
}

let registry: Awaited<ReturnType<typeof tempRegistry>>;
let modelDir: string;
let scorer: ModelScorer;
beforeAll(async () => {
  registry = await tempRegistry();
  modelDir = (await trainModel(slowWindows({ seed: 1, from: 0, count: 500 }), { outDir: registry.dir, name: 'oven', kind: 'adaptive-z' })).dir;
});
afterAll(() => registry.cleanup());
beforeEach(async () => {
  scorer = await openScorer({ registryDir: registry.dir, clock: new ManualClock(), maxBatch: 64, maxDelayMs: 20, pollMs: 3_600_000 });
});
afterEach(() => scorer.close());

describe('the adaptive-z kind', () => {
  it('writes its kind, its alert rule and the training series with the period it found', async () => {
    const contract = JSON.parse(await readFile(path.join(modelDir, MODEL_FILES.contract), 'utf8')) as Record<string, unknown>;
    expect(contract).toMatchObject({ kind: 'adaptive-z', featureNames: ['temp.mean'], windowMs: WINDOW_MS, trainingWindows: 500, heldBackWindows: 0 });
    expect(contract['alertRule']).toEqual({ openAfter: 1, within: 1, resolveAfter: 50 });
    const file = JSON.parse(await readFile(path.join(modelDir, MODEL_FILES.adaptiveZ), 'utf8')) as { features: { period: number; history: number[] }[]; threshold: number };
    expect(file.threshold).toBe(7);
    expect(file.features[0]!.period % PERIOD).toBe(0);
    expect(file.features[0]!.period).toBeGreaterThan(0);
    expect(file.features[0]!.history).toHaveLength(500);
  });

  it('keeps the partial window a recording ends with: its series has no hole at the end', async () => {
    const windows = slowWindows({ seed: 9, from: 0, count: 100 });
    windows[99] = create(MachineWindowSchema, { ...windows[99]!, closeReason: CloseReason.SHUTDOWN });
    const elsewhere = await tempRegistry();
    try {
      const report = await trainModel(windows, { outDir: elsewhere.dir, name: 'partial', kind: 'adaptive-z' });
      expect(report.trainingWindows).toBe(100);
      expect(report.skipped).toEqual({});
    } finally {
      await elsewhere.cleanup();
    }
  });

  it('flags a stuck sensor and a spike, not the daily cycle, and hands on the alert rule', async () => {
    // Days 500–899 of the same oven: a spike far above the cycle at 600, stuck at its last value for 60 windows from 750.
    const live = slowWindows({ seed: 2, from: 500, count: 400, offset: (w) => (w === 600 ? 40 : 0) });
    const stuckAt = live[750 - 500]!.sensors[0]!.mean;
    for (let w = 750; w < 810; w++) live[w - 500]!.sensors[0] = create(SensorStatsSchema, { sensorId: 'temp', expectedCount: 1, ...twoPassStatistics([stuckAt]) });
    const scored = scoresOf(await scoreWindows(scorer, live));
    const anomalous = scored.flatMap((s, i) => (s.isAnomaly ? [500 + i] : []));
    expect(anomalous).toContain(600);
    expect(anomalous.some((w) => w > 750 && w < 810)).toBe(true);
    expect(anomalous.filter((w) => w < 600 || (w > 600 + 12 + PERIOD && w < 750))).toEqual([]); // quiet before, between
    expect(scored.every((s) => s.threshold === 7 && s.contributions['temp'] === (s.score > 0 ? 1 : 0))).toBe(true);
    expect(scored[0]!.alertRule).toEqual({ openAfter: 1, within: 1, resolveAfter: 50 });
  });

  it('scores a window from the windows before it only, each machine against its own history', async () => {
    const first = slowWindows({ seed: 3, from: 500, count: 100 });
    const quiet = slowWindows({ seed: 4, from: 600, count: 50 });
    const hot = slowWindows({ seed: 4, from: 600, count: 50, machineId: 'oven-2', offset: () => 20 });
    const a = scoresOf(await scoreWindows(scorer, [...first, ...quiet]));
    const b = scoresOf(await scoreWindows(scorer, [...first.map((w) => create(MachineWindowSchema, { ...w, machineId: 'oven-2' })), ...hot]));
    expect(b.slice(0, 100).map((s) => s.score)).toEqual(a.slice(0, 100).map((s) => s.score));
    expect(b[100]!.isAnomaly).toBe(true);
    expect(a.slice(100).some((s) => s.isAnomaly)).toBe(false);
  });

  it('compares a window after an outage with the same time of day: the missing windows are holes, not a shift', async () => {
    // A quarter of a day (12 windows) missing: counted, every later window would be compared with the
    // wrong part of the cycle (its ±5 is ~20 σ of the seasonal differences).
    const live = slowWindows({ seed: 6, from: 500, count: 300 }).filter((w) => w.windowStart < START + 600 * WINDOW_MS || w.windowStart >= START + 612 * WINDOW_MS);
    const scored = scoresOf(await scoreWindows(scorer, live));
    expect(scored.filter((s) => s.isAnomaly)).toEqual([]);
    // The short term still sees a level shift after the outage.
    const shifted = slowWindows({ seed: 7, from: 800, count: 100 }).filter((w) => w.windowStart >= START + 812 * WINDOW_MS);
    const after = scoresOf(await scoreWindows(scorer, shifted.map((w, i) => (i < 40 ? w : create(MachineWindowSchema, { ...w, sensors: [create(SensorStatsSchema, { ...w.sensors[0]!, mean: w.sensors[0]!.mean + 3 })] })))));
    expect(after.slice(0, 40).some((s) => s.isAnomaly)).toBe(false);
    expect(after.slice(40).some((s) => s.isAnomaly)).toBe(true);
  });

  it('counts the windows between the end of training and a machine\'s first window as holes', async () => {
    // Training ended with window 499; the machine is first seen half a day later.
    const scored = scoresOf(await scoreWindows(scorer, slowWindows({ seed: 8, from: 524, count: 200 })));
    expect(scored.filter((s) => s.isAnomaly)).toEqual([]);
  });

  /**
   * Scores `before` on a scorer with a state file, restarts it, scores `after` on the restarted one and
   * checks those scores equal an uninterrupted scorer's; returns them.
   */
  async function scoresAcrossRestart(name: string, before: MachineWindow[], after: MachineWindow[]) {
    const stateFile = path.join(registry.dir, '..', `${name}-${process.pid}.json`);
    const whole = scoresOf(await scoreWindows(scorer, [...before, ...after]));
    const first = await openScorer({ registryDir: registry.dir, clock: new ManualClock(), pollMs: 3_600_000, stateFile });
    await scoreWindows(first, before);
    await first.close();
    const restarted = await openScorer({ registryDir: registry.dir, clock: new ManualClock(), pollMs: 3_600_000, stateFile });
    try {
      const rest = scoresOf(await scoreWindows(restarted, after));
      expect(rest.map((s) => s.score)).toEqual(whole.slice(before.length).map((s) => s.score));
      return rest;
    } finally {
      await restarted.close();
      await rm(stateFile, { force: true });
    }
  }

  it('steps over an outage that spans a restart: the state file keeps where the machine was', async () => {
    const before = slowWindows({ seed: 12, from: 500, count: 100 });
    const after = slowWindows({ seed: 13, from: 624, count: 100 }); // half a day later
    const rest = await scoresAcrossRestart('adaptive-z-state', before, after);
    expect(rest.filter((s) => s.isAnomaly)).toEqual([]);
  });

  it('keeps the season across an outage of several days that spans a restart: a shift inside its range shows on the first day', async () => {
    const resume = 600 + 3 * PERIOD;
    const before = slowWindows({ seed: 14, from: 500, count: 100 });
    // Half the cycle's amplitude for 30 windows of the first day back: only the seasonal term sees it.
    const after = slowWindows({ seed: 15, from: resume, count: 2 * PERIOD, offset: (w) => (w >= resume + 12 && w < resume + 42 ? 2.5 : 0) });
    const anomalous = (await scoresAcrossRestart('adaptive-z-state-days', before, after)).flatMap((s, i) => (s.isAnomaly ? [i] : []));
    expect(anomalous.some((i) => i >= 12 && i < 42)).toBe(true);
    expect(anomalous.filter((i) => i < 12 || i >= 42 + 12)).toEqual([]);
  });

  it('compares a machine first seen days after training with the same time of day from its first windows', async () => {
    const resume = 500 + 3 * PERIOD + 10;
    const live = slowWindows({ seed: 16, from: resume, count: 2 * PERIOD, offset: (w) => (w >= resume + 12 && w < resume + 42 ? 2.5 : 0) });
    const anomalous = scoresOf(await scoreWindows(scorer, live)).flatMap((s, i) => (s.isAnomaly ? [i] : []));
    expect(anomalous.some((i) => i >= 12 && i < 42)).toBe(true);
    expect(anomalous.filter((i) => i < 12 || i >= 42 + 12)).toEqual([]);
  });

  it('refuses the windows of a sensor silent or NaN for days, then scores as after an outage as long: the season kept at its phase', async () => {
    /** Two sensors of the same oven, temp and hum, each with the daily cycle; `offset` adds to hum. */
    const pair = (options: { seed: number; from: number; count: number; offset?: (w: number) => number }): MachineWindow[] => {
      const hum = slowWindows({ ...options, seed: options.seed + 100 });
      return slowWindows({ seed: options.seed, from: options.from, count: options.count }).map((w, i) => create(MachineWindowSchema, { ...w, sensors: [w.sensors[0]!, create(SensorStatsSchema, { ...hum[i]!.sensors[0]!, sensorId: 'hum' })] }));
    };
    const elsewhere = await tempRegistry();
    const open = () => openScorer({ registryDir: elsewhere.dir, clock: new ManualClock(), pollMs: 3_600_000 });
    try {
      await trainModel(pair({ seed: 20, from: 0, count: 500 }), { outDir: elsewhere.dir, name: 'pair', kind: 'adaptive-z' });
      const before = pair({ seed: 21, from: 500, count: 100 });
      // Three days: hum sends nothing for the first day and a half, then NaN.
      const outage = pair({ seed: 22, from: 600, count: 3 * PERIOD }).map((w, i) =>
        create(MachineWindowSchema, { ...w, sensors: i < 1.5 * PERIOD ? [w.sensors[0]!] : [w.sensors[0]!, create(SensorStatsSchema, { ...w.sensors[1]!, mean: Number.NaN })] }),
      );
      const resume = 600 + 3 * PERIOD;
      // hum half its cycle's amplitude higher for 30 windows of the first day back: only its seasonal term sees that.
      const after = pair({ seed: 23, from: resume, count: 2 * PERIOD, offset: (w) => (w >= resume + 12 && w < resume + 42 ? 2.5 : 0) });
      const silent = await open();
      const gap = await open();
      try {
        const outcomes = await scoreWindows(silent, [...before, ...outage, ...after]);
        expect(new Set(outcomes.slice(before.length, before.length + outage.length).map((o) => o.kind))).toEqual(new Set(['contract_mismatch']));
        const afterSilence = scoresOf(outcomes.slice(before.length + outage.length));
        // The same as a machine that sent nothing at all for those three days.
        expect(afterSilence).toEqual(scoresOf(await scoreWindows(gap, [...before, ...after])).slice(before.length));
        const anomalous = afterSilence.flatMap((s, i) => (s.isAnomaly ? [i] : []));
        expect(anomalous.some((i) => i >= 12 && i < 42)).toBe(true);
        expect(anomalous.filter((i) => i < 12 || i >= 42 + 12)).toEqual([]);
      } finally {
        await silent.close();
        await gap.close();
      }
    } finally {
      await elsewhere.cleanup();
    }
  });

  it('trains on a series with a gap as one with holes: the period and the phase where scoring starts stay right', async () => {
    const elsewhere = await tempRegistry();
    try {
      const training = slowWindows({ seed: 10, from: 0, count: 500 }).filter((w) => w.windowStart < START + 200 * WINDOW_MS || w.windowStart >= START + 212 * WINDOW_MS);
      const { dir } = await trainModel(training, { outDir: elsewhere.dir, name: 'gappy', kind: 'adaptive-z' });
      const file = JSON.parse(await readFile(path.join(dir, MODEL_FILES.adaptiveZ), 'utf8')) as { features: { period: number; history: (number | null)[] }[]; historyEnd: number };
      expect(file.features[0]!.history).toHaveLength(500);
      expect(file.features[0]!.history.flatMap((v, i) => (v === null ? [i] : []))).toEqual(Array.from({ length: 12 }, (_, i) => 200 + i));
      expect(file.features[0]!.period % PERIOD).toBe(0);
      expect(file.historyEnd).toBe(START + 500 * WINDOW_MS);
      const gappy = await openScorer({ registryDir: elsewhere.dir, clock: new ManualClock(), pollMs: 3_600_000 });
      try {
        const scored = scoresOf(await scoreWindows(gappy, slowWindows({ seed: 11, from: 500, count: 200 })));
        expect(scored.filter((s) => s.isAnomaly)).toEqual([]);
      } finally {
        await gappy.close();
      }
    } finally {
      await elsewhere.cleanup();
    }
  });

  it('gives a window scored again (a redelivery, a late revision) the score it got the first time', async () => {
    const windows = slowWindows({ seed: 5, from: 500, count: 200, offset: (w) => (w >= 650 ? 3 : 0) });
    const first = scoresOf(await scoreWindows(scorer, windows));
    const again = scoresOf(await scoreWindows(scorer, [windows[150]!, create(MachineWindowSchema, { ...windows[199]!, revision: 1 })]));
    expect(again.map((s) => s.score)).toEqual([first[150]!.score, first[199]!.score]);
    // Scoring again taught the history nothing: the next new window scores as it would have.
    const next = slowWindows({ seed: 5, from: 700, count: 1 });
    const fresh = await openScorer({ registryDir: registry.dir, clock: new ManualClock(), pollMs: 3_600_000 });
    try {
      const direct = scoresOf(await scoreWindows(fresh, [...windows, ...next]));
      expect(scoresOf(await scoreWindows(scorer, next))[0]!.score).toBe(direct[200]!.score);
    } finally {
      await fresh.close();
    }
  });
});
