// The running-state gate through training and the registry-backed scorer: a stop, a start and a change
// of set-point are held, never scored, so they can never open an alert by themselves.
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ManualClock } from '@pdm/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScoreOutcome } from '../model/api.js';
import { MODEL_FILES } from '../model/artifact-schemas.js';
import { writeLifecycle, type Lifecycle } from '../model/lifecycle.js';
import { gaussian } from '../test-support/synthetic-pump.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { windowOfReadings } from '../test-support/windows.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer, type ModelScorer } from './scorer.js';

const W = 10_000;
const T0 = 1_700_000_000_000;

/** A fan at 1 Hz: speed and current follow the set-point, the bearing heats with current; stopped where `setpoint` is 0. */
function fanWindows(seed: number, from: number, setpoint: (w: number) => number, count: number) {
  const rand = gaussian(seed);
  return Array.from({ length: count }, (_, i) => {
    const w = from + i;
    const sp = setpoint(w);
    const readings: Record<string, number[]> = { speed: [], current: [], temp: [] };
    for (let s = 0; s < 10; s++) {
      readings['speed']!.push(sp === 0 ? 0 : 900 * sp + 2 * rand());
      readings['current']!.push(sp === 0 ? 0 : 25 * sp + 0.2 * rand());
      readings['temp']!.push(40 + 10 * sp + 0.1 * rand());
    }
    return windowOfReadings({ machineId: 'fan-1', startMs: T0 + w * W, windowMs: W, readings });
  });
}

let registry: Awaited<ReturnType<typeof tempRegistry>>;
let scorer: ModelScorer;
let modelDir: string;
beforeAll(async () => {
  registry = await tempRegistry();
  // 600 windows at set-point 1, stopped for 40 of them.
  const training = fanWindows(1, 0, (w) => (w >= 200 && w < 240 ? 0 : 1), 600);
  modelDir = (await trainModel(training, { outDir: registry.dir, name: 'fan', kind: 'robust-t2' })).dir;
  scorer = await openScorer({ registryDir: registry.dir, clock: new ManualClock(), pollMs: 3_600_000 });
});
afterAll(async () => {
  await scorer.close();
  await registry.cleanup();
});

const kinds = (outcomes: ScoreOutcome[]) => outcomes.map((o) => (o.kind === 'held' ? o.reason : o.kind === 'scored' ? (o.score.isAnomaly ? 'ANOMALY' : 'ok') : o.kind));

describe('the running-state gate', () => {
  it('is learned from the stops in the training data, which it leaves out of training', async () => {
    const contract = JSON.parse(await readFile(path.join(modelDir, MODEL_FILES.contract), 'utf8')) as { regime: { sensors: { sensor: string }[] }; trainingWindows: number };
    expect(contract.regime.sensors.map((s) => s.sensor)).toEqual(['speed']); // stops like current, steadier while running
    // 40 stopped, the step back up, and 3 settling windows after each.
    expect(contract.trainingWindows).toBe(600 - 40 - 1 - 3);
  });

  it('holds a stop, the start and a change of set-point, and scores the steady windows in between', async () => {
    const setpoint = (w: number) => (w < 1010 ? 1 : w < 1020 ? 0 : w < 1040 ? 1 : 0.85);
    const outcomes = await scoreWindows(scorer, fanWindows(2, 1000, setpoint, 50));
    expect(kinds(outcomes)).toEqual([
      ...Array<string>(10).fill('ok'),
      ...Array<string>(10).fill('stopped'),
      'transient',
      ...Array<string>(3).fill('settling'),
      ...Array<string>(16).fill('ok'),
      'transient',
      ...Array<string>(3).fill('settling'),
      // Steady at a set-point it never saw: the model's business, no longer the gate's.
      ...Array<string>(6).fill('ANOMALY'),
    ]);
    expect(scorer.stats().held).toEqual({ stopped: 10, transient: 2, settling: 6, calibrating: 0 });
  });

  it('keeps a machine settling across a restart when the scorer has a state file', async () => {
    const stateFile = path.join(registry.dir, '..', `gate-state-${process.pid}.json`);
    const setpoint = (w: number) => (w < 2005 ? 0 : 1);
    const windows = fanWindows(3, 2000, setpoint, 12);
    const before = await openScorer({ registryDir: registry.dir, clock: new ManualClock(), pollMs: 3_600_000, stateFile });
    expect(kinds(await scoreWindows(before, windows.slice(0, 6)))).toEqual([...Array<string>(5).fill('stopped'), 'transient']);
    await before.close();
    const after = await openScorer({ registryDir: registry.dir, clock: new ManualClock(), pollMs: 3_600_000, stateFile });
    try {
      expect(kinds(await scoreWindows(after, windows.slice(6)))).toEqual([...Array<string>(3).fill('settling'), ...Array<string>(3).fill('ok')]);
    } finally {
      await after.close();
      await rm(stateFile, { force: true });
    }
  });
});

describe('the running-state gate across a swap of model version', () => {
  /** The trained fan model as fan@`version` in `registryDir`, its gate settling `settleWindows` windows (3 as trained). */
  async function publish(registryDir: string, version: string, settleWindows = 3): Promise<void> {
    const dir = path.join(registryDir, 'fan', version);
    await cp(modelDir, dir, { recursive: true, filter: (src) => !src.endsWith(MODEL_FILES.contract) });
    const contract = JSON.parse(await readFile(path.join(modelDir, MODEL_FILES.contract), 'utf8')) as { regime: object };
    await writeFile(path.join(dir, MODEL_FILES.contract), JSON.stringify({ ...contract, version, regime: { ...contract.regime, settleWindows } }));
  }

  const serving = (version: string, shadow: string[] = []): Lifecycle => ({ serving: version, shadow });
  /** What serves while the machine runs, while it stops and starts again, and after: the swap. */
  type Stages = [running: Lifecycle, stopping: Lifecycle, settling: Lifecycle];
  it.each<[string, Stages, number]>([
    ['a version new to the machine is promoted', [serving('1'), serving('1'), serving('2')], 3],
    ['the version in shadow is promoted (it saw no window since the stop: the serving one held them)', [serving('1', ['2']), serving('1', ['2']), serving('2')], 3],
    ['the version it is rolled back to last saw it running', [serving('1'), serving('2'), serving('1')], 3],
    ['a version whose gate settles for 1 window is promoted: it holds no longer than it would itself', [serving('1'), serving('1'), serving('3')], 1],
  ])('keeps a machine settling after a swap when %s', async (_what, [running, stopping, settling], settleWindows) => {
    const swap = await tempRegistry();
    await publish(swap.dir, '1');
    await publish(swap.dir, '2');
    await publish(swap.dir, '3', 1);
    const serve = async (lifecycle: Lifecycle, scorer: ModelScorer) => {
      await writeLifecycle(path.join(swap.dir, 'fan'), lifecycle);
      await scorer.reload();
      expect(scorer.loaded().find((m) => m.role === 'serving')?.version).toBe(lifecycle.serving);
    };
    await writeLifecycle(path.join(swap.dir, 'fan'), running);
    const scorer = await openScorer({ registryDir: swap.dir, clock: new ManualClock(), pollMs: 3_600_000 });
    try {
      // Running, stopped for 2 windows, started again: the start is a transient, then the swap.
      const windows = fanWindows(4, 3000, (w) => (w < 3003 || w >= 3005 ? 1 : 0), 14);
      expect(kinds(await scoreWindows(scorer, windows.slice(0, 3)))).toEqual(['ok', 'ok', 'ok']);
      await serve(stopping, scorer);
      expect(kinds(await scoreWindows(scorer, windows.slice(3, 6)))).toEqual(['stopped', 'stopped', 'transient']);
      await serve(settling, scorer);
      expect(kinds(await scoreWindows(scorer, windows.slice(6)))).toEqual([...Array<string>(settleWindows).fill('settling'), ...Array<string>(8 - settleWindows).fill('ok')]);
      // A redelivery of the start gets its first decision from the version serving now too.
      expect(kinds(await scoreWindows(scorer, windows.slice(5, 6)))).toEqual(['transient']);
    } finally {
      await scorer.close();
      await swap.cleanup();
    }
  });
});
