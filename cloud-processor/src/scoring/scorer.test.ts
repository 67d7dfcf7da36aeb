import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { create, MachineWindowSchema } from '@pdm/proto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '@pdm/clock';
import type { ScoreOutcome } from '../model/api.js';
import { MODEL_FILES } from '../model/artifact-schemas.js';
import type { ModelLogger } from '../model/logger.js';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer, type ModelScorer } from './scorer.js';

const POLL_MS = 1000;
const windows = simulatePump({ seed: 8, windows: 40 }).windows;
let trained: Awaited<ReturnType<typeof tempRegistry>>;
let trainedDir: string;

beforeAll(async () => {
  trained = await tempRegistry();
  trainedDir = (await trainModel(windows, { outDir: trained.dir, name: 'pump', kind: 'autoencoder', epochs: 30 })).dir;
});
afterAll(() => trained.cleanup());

let registry: Awaited<ReturnType<typeof tempRegistry>>;
let clock: ManualClock;
let scorer: ModelScorer;
let errors: string[];
let refusedReported: number;
/** Publishes the trained model as `version` (contract.json, which names the version, written last). */
async function publish(version: string): Promise<void> {
  const dir = path.join(registry.dir, 'pump', version);
  await cp(trainedDir, dir, { recursive: true, filter: (src) => !src.endsWith(MODEL_FILES.contract) });
  const contract = JSON.parse(await readFile(path.join(trainedDir, MODEL_FILES.contract), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(dir, MODEL_FILES.contract), JSON.stringify({ ...contract, version }));
}

beforeEach(async () => {
  registry = await tempRegistry();
  clock = new ManualClock();
  errors = [];
  const ignore = (): void => undefined;
  const logger: ModelLogger = { debug: ignore, info: ignore, warn: ignore, error: (obj: unknown) => void errors.push(JSON.stringify(obj)) };
  refusedReported = 0;
  scorer = await openScorer({ registryDir: registry.dir, clock, maxBatch: 8, maxDelayMs: 20, pollMs: POLL_MS, logger, onModelsRefused: (n) => (refusedReported += n) });
});
afterEach(async () => {
  await scorer.close();
  await registry.cleanup();
});

describe('registry', () => {
  it('has no model until one is dropped into the registry, then the poll loads it', async () => {
    expect(await scorer.score(windows[0]!)).toEqual({ kind: 'no_model' });
    expect(scorer.loaded()).toEqual([]);
    await publish('1');
    clock.advance(POLL_MS);
    await vi.waitFor(() => expect(scorer.loaded()).toEqual([{ name: 'pump', version: '1', role: 'serving', backend: 'wasm', windowMs: 10_000 }]));
  });

  it('switches to a newer version without restart and keeps it when an even newer one is broken', async () => {
    await publish('1');
    await scorer.reload();
    await publish('2');
    await scorer.reload();
    expect(scorer.loaded().map((m) => m.version)).toEqual(['2']);
    const scoring = scorer.score(windows[0]!);
    clock.advance(20);
    const outcome = await scoring;
    expect(outcome.kind === 'scored' && outcome.score.modelVersion).toBe('2');

    await publish('3');
    await writeFile(path.join(registry.dir, 'pump', '3', MODEL_FILES.model), '{"format": "layers-model", "modelTop');
    await scorer.reload();
    await scorer.reload(); // remembered as broken: not retried, not logged again
    expect(scorer.loaded().map((m) => m.version)).toEqual(['2']);
    expect(scorer.stats().modelLoadFailures).toBe(1);
    expect(refusedReported).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(path.join('pump', '3', MODEL_FILES.model));
  });

  it('keeps the serving version serving when its own folder is changed into something it cannot load, not an older one', async () => {
    await publish('1');
    await publish('2');
    await scorer.reload();
    expect(scorer.loaded().map((m) => m.version)).toEqual(['2']);
    // Version 2 edited in place with a typo (or being copied over): without a lifecycle file, 1 must not take over.
    await writeFile(path.join(registry.dir, 'pump', '2', MODEL_FILES.model), '{"format": "layers-model", "modelTop');
    await scorer.reload();
    expect(scorer.loaded().map((m) => m.version)).toEqual(['2']);
    expect(scorer.stats().modelLoadFailures).toBe(1);
  });

  it('never hands a window to a version it retires: the newer one serves before the older network is disposed', async () => {
    await publish('1');
    let scoredDuringSwap: Promise<ScoreOutcome> | undefined;
    const ignore = (): void => undefined;
    const logger: ModelLogger = {
      debug: ignore,
      warn: ignore,
      error: (obj: unknown) => void errors.push(JSON.stringify(obj)),
      info: (obj: unknown, message?: string) => {
        // Said by the registry check in the turn that disposes version 1: a window arriving right then.
        if (message === 'model versions serving' && (obj as { serving?: string }).serving === '2') queueMicrotask(() => void (scoredDuringSwap = swapping.score(windows[0]!)));
      },
    };
    const swapping = await openScorer({ registryDir: registry.dir, clock, maxBatch: 8, maxDelayMs: 20, pollMs: POLL_MS, logger });
    try {
      await publish('2');
      await swapping.reload();
      expect(scoredDuringSwap).toBeDefined();
      clock.advance(20);
      const outcome = await scoredDuringSwap!;
      expect(outcome.kind === 'scored' && outcome.score.modelVersion).toBe('2');
    } finally {
      await swapping.close();
    }
  });

  it('refuses a copied folder whose contract names another version', async () => {
    await cp(trainedDir, path.join(registry.dir, 'pump', '5'), { recursive: true });
    await scorer.reload();
    expect(scorer.loaded()).toEqual([]);
    expect(errors[0]).toContain('contract.json names pump@1');
  });

  it('ignores a version folder until its contract.json is written', async () => {
    await mkdir(path.join(registry.dir, 'pump', '1'), { recursive: true });
    await cp(path.join(trainedDir, MODEL_FILES.model), path.join(registry.dir, 'pump', '1', MODEL_FILES.model));
    await scorer.reload();
    expect(scorer.loaded()).toEqual([]);
    expect(scorer.stats().modelLoadFailures).toBe(0);
  });
});

describe('scoring', () => {
  beforeEach(async () => {
    await publish('1');
    await scorer.reload();
  });

  it('stacks concurrent windows into one inference after maxDelayMs, or at once when maxBatch are waiting', async () => {
    const few = windows.slice(0, 5).map((w) => scorer.score(w));
    expect(scorer.stats().batches).toBe(0);
    clock.advance(19);
    expect(scorer.stats().batches).toBe(0);
    clock.advance(1);
    const outcomes = await Promise.all(few);
    expect(scorer.stats()).toMatchObject({ batches: 1, largestBatch: 5, scored: 5 });
    const full = await Promise.all(windows.slice(0, 8).map((w) => scorer.score(w)));
    expect(scorer.stats()).toMatchObject({ batches: 2, largestBatch: 8, scored: 13 });
    // Batching does not change a score: the same window scores the same alone or in company.
    expect(scoreOf(full[0]!)).toBeCloseTo(scoreOf(outcomes[0]!), 5);
    const first = outcomes[0]!;
    expect(first.kind).toBe('scored');
    if (first.kind === 'scored') {
      expect(first.score).toMatchObject({ machineId: 'pump-1', siteId: 'site-synthetic', model: 'pump', windowStart: Number(windows[0]!.windowStart) });
      const shares = Object.values(first.score.contributions);
      expect(Object.keys(first.score.contributions).sort()).toEqual(['current', 'flow', 'pressure', 'temp', 'vib']);
      expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('scores a recorded dataset without waiting for the batch delay after its last window', async () => {
    // The manual clock never moves: offline scoring must not depend on the delay timer (a command has no server keeping it alive).
    const outcomes = await scoreWindows(scorer, windows.slice(0, 11));
    expect(outcomes.map((o) => o.kind)).toEqual(Array<string>(11).fill('scored'));
    expect(scorer.stats()).toMatchObject({ batches: 2, largestBatch: 8 });
    expect(clock.now()).toBe(0);
  });

  it('refuses a window with a silent sensor and counts it; a machine with other sensors has no model', async () => {
    const w = windows[0]!;
    const silent = create(MachineWindowSchema, { ...w, sensors: w.sensors.filter((s) => s.sensorId !== 'temp') });
    const outcome = await scorer.score(silent);
    expect(outcome).toEqual({ kind: 'contract_mismatch', reason: "model pump@1: missing sensor 'temp': no readings in this window (silent sensor?)" });
    const shorter = create(MachineWindowSchema, { ...w, windowEnd: w.windowStart + 5000n });
    expect(await scorer.score(shorter)).toEqual({ kind: 'contract_mismatch', reason: 'model pump@1: window of 5000 ms, model expects 10000 ms' });
    const other = create(MachineWindowSchema, { ...w, sensors: [{ ...w.sensors[0]!, sensorId: 'fan-speed' }] });
    expect(await scorer.score(other)).toEqual({ kind: 'no_model' });
    expect(scorer.stats()).toMatchObject({ noModel: 1, scored: 0, mismatches: { missing_sensor: 1, window_size: 1 } });
  });

  it('leaves no tensors behind over many batches', async () => {
    const score = async (): Promise<void> => {
      await Promise.all(windows.slice(0, 8).map((w) => scorer.score(w)));
    };
    await score();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) await score();
    expect(scorer.stats().batches).toBe(51);
    expect(tf.memory().numTensors).toBe(before);
  });
});

function scoreOf(o: ScoreOutcome): number {
  if (o.kind !== 'scored') throw new Error(`expected a score, got ${o.kind}`);
  return o.score.score;
}
