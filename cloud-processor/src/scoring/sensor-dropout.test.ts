// A sensor dropping out through the scorer, as pdm score and the processor use it: a window with one
// sensor short of readings is anomalous, blamed on that sensor; every sensor short is no one's fault.
import { ManualClock } from '@pdm/clock';
import { create, MachineWindowSchema, type MachineWindow } from '@pdm/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { levelMachineWindows } from '../test-support/level-machine.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer, type ModelScorer } from './scorer.js';

const TRAIN_START = 1_700_000_000_000;
const LIVE_START = TRAIN_START + 86_400_000;
let registry: Awaited<ReturnType<typeof tempRegistry>>;
let scorer: ModelScorer;

beforeAll(async () => {
  registry = await tempRegistry();
  await trainModel(levelMachineWindows({ seed: 1, windows: 300, startMs: TRAIN_START }), { outDir: registry.dir, name: 'level', version: '1', kind: 'robust-t2' });
  scorer = await openScorer({ registryDir: registry.dir, clock: new ManualClock(LIVE_START), pollMs: 3_600_000 });
});
afterAll(async () => {
  await scorer.close();
  await registry.cleanup();
});

/** The window with the named sensors down to `count` of their 10 expected readings (their statistics as they were). */
function short(window: MachineWindow, sensors: readonly string[], count: number): MachineWindow {
  return create(MachineWindowSchema, { ...window, sensors: window.sensors.map((s) => (sensors.includes(s.sensorId) ? { ...s, count, expectedCount: 10 } : s)) });
}

describe('a sensor dropping out', () => {
  const [first, second, third] = levelMachineWindows({ seed: 2, windows: 3, startMs: LIVE_START });

  it('makes the window anomalous by its missing readings alone: (1 − 3/10) / (1 − 0.5) = 1.4 against 1, all of it on that sensor', async () => {
    const [outcome] = await scoreWindows(scorer, [short(first!, ['b'], 3)]);
    expect(outcome).toEqual({
      kind: 'scored',
      score: expect.objectContaining({ machineId: 'm-1', model: 'level', modelVersion: '1', score: expect.closeTo(1.4, 12) as number, threshold: 1, isAnomaly: true, calibrated: expect.closeTo(1.4, 12) as number, contributions: { a: 0, b: 1, c: 0 } }) as unknown,
    });
    expect(scorer.stats()).toMatchObject({ scored: 1, anomalies: 1, sensorDropouts: 1 });
  });

  it('leaves a window with every sensor short a contract mismatch (a partial window, a lost link), and one at 6 of 10 to the model', async () => {
    const [allShort, sixOfTen] = await scoreWindows(scorer, [short(second!, ['a', 'b', 'c'], 3), short(third!, ['b'], 6)]);
    expect(allShort).toEqual({ kind: 'contract_mismatch', reason: "model level@1: sensor 'a' has 3 of 10 expected readings" });
    expect(sixOfTen).toEqual({ kind: 'scored', score: expect.objectContaining({ isAnomaly: false, threshold: expect.any(Number) as number }) as unknown });
    expect(scorer.stats()).toMatchObject({ sensorDropouts: 1, mismatches: { incomplete_sensor: 1 } });
  });
});
