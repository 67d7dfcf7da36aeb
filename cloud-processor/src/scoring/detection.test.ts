// Detection quality on a synthetic pump with known faults. The model trains on 480 s of 1 Hz data
// (48 windows: "a few hundred rows"), the amount a team has right after commissioning a sensor kit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatePump, type PumpFault } from '../test-support/synthetic-pump.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { trainModel } from '../training/train.js';
import { evaluateDetection, scoreWindows } from './score-windows.js';
import { openScorer, type ModelScorer } from './scorer.js';

const TRAIN_WINDOWS = 48;

type PumpFaultShape = { kind: PumpFault['kind']; magnitude: number };

async function setup(vibrationHz: number): Promise<{ scorer: ModelScorer; cleanup(): Promise<void>; range(f: string): number }> {
  const registry = await tempRegistry();
  const normal = simulatePump({ seed: 5, windows: TRAIN_WINDOWS, vibrationHz });
  await trainModel(normal.windows, { outDir: registry.dir, name: 'pump', kind: 'autoencoder' });
  // The real clock: a batch runs as soon as the queued windows have been handed over (maxDelayMs 0).
  const scorer = await openScorer({ registryDir: registry.dir, maxDelayMs: 0, maxBatch: 64, pollMs: 3_600_000 });
  const range = (sensor: string): number => {
    const means = normal.windows.map((w) => w.sensors.find((s) => s.sensorId === sensor)!.mean);
    return Math.max(...means) - Math.min(...means);
  };
  return { scorer, range, cleanup: async () => (await scorer.close(), registry.cleanup()) };
}

/** 60 normal windows, then `faulty` with the fault; a different seed (and load phase) from training. */
function faultRun(fault: PumpFaultShape, vibrationHz = 1, faulty = 60): ReturnType<typeof simulatePump> {
  return simulatePump({ seed: 23, windows: 60 + faulty, vibrationHz, fault: { ...fault, startWindow: 60 } });
}

describe('detection at 1 Hz', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => (ctx = await setup(1)));
  afterAll(() => ctx.cleanup());

  it('raises few false alarms on unseen normal operation', async () => {
    const normal = simulatePump({ seed: 99, windows: 600 });
    const result = evaluateDetection(await scoreWindows(ctx.scorer, normal.windows), normal.labels);
    expect(result.unscored).toBe(0);
    // The threshold aims at 0.1% per window with 90% confidence under a lognormal fit to 12 held-back
    // windows; real score tails are heavier than lognormal, so allow ten times that: at most 6 of 600.
    expect(result.falseAlarmRate).toBeLessThanOrEqual(0.01);
  });

  it('detects a doubling of the vibration level and blames the vibration sensor', async () => {
    // A doubling (+6 dB) is the classic alarm step of vibration severity monitoring; the level's
    // window-to-window spread in training is ~10% of it, so the shift is ~10 σ: every window should flag.
    const run = faultRun({ kind: 'vibration_rise', magnitude: 1 });
    const outcomes = await scoreWindows(ctx.scorer, run.windows);
    const result = evaluateDetection(outcomes, run.labels);
    expect(result.recall).toBeGreaterThanOrEqual(0.95);
    expect(result.precision).toBeGreaterThanOrEqual(0.9);
    const last = outcomes.at(-1)!;
    expect(last.kind).toBe('scored');
    if (last.kind === 'scored') {
      const top = Object.entries(last.score.contributions).sort((a, b) => b[1] - a[1])[0]!;
      expect(top[0]).toBe('vib');
      expect(top[1]).toBeGreaterThan(0.5);
    }
  });

  it('flags a temperature drift before it leaves the range seen in training by half again', async () => {
    // 0.1 °C per window for 20 minutes, against the swing of the window-mean temperature in the
    // training data (measured, ~5 °C). Once the drift exceeds 1.5× that swing every temperature is far
    // outside anything normal, so an alarm must have come by then.
    const run = faultRun({ kind: 'temperature_drift', magnitude: 0.1 }, 1, 120);
    const outcomes = await scoreWindows(ctx.scorer, run.windows);
    const first = outcomes.findIndex((o, i) => o.kind === 'scored' && o.score.isAnomaly && run.labels[i]);
    expect(first).toBeGreaterThanOrEqual(60);
    expect(run.faultSize[first]).toBeLessThanOrEqual(1.5 * ctx.range('temp'));
    const flagged = outcomes[first]!;
    if (flagged.kind === 'scored') expect(Object.entries(flagged.score.contributions).sort((a, b) => b[1] - a[1])[0]![0]).toBe('temp');
  });
});

describe('detection on high-rate vibration', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => (ctx = await setup(1000)));
  afterAll(() => ctx.cleanup());

  it('detects bearing impulses through kurtosis and crest factor with few false alarms', async () => {
    // Impulses at half the running-speed amplitude barely move the RMS but make the signal spiky:
    // kurtosis well above the ~1.5 of a sine plus noise and a crest factor far above √2.
    const run = faultRun({ kind: 'bearing_impulses', magnitude: 0.5 }, 1000);
    const result = evaluateDetection(await scoreWindows(ctx.scorer, run.windows), run.labels);
    expect(result.recall).toBeGreaterThanOrEqual(0.95);
    expect(result.falseAlarmRate).toBeLessThanOrEqual(0.05);
  });
});
