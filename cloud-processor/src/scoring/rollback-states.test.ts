// A version rolled back to resumes its per-machine states: promoting 1 → 2 and rolling back must not start
// version 1's machines afresh (their slow baselines, level calibrations, thresholds), in memory or through
// the state file; only a version removed from the registry is forgotten.
import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ManualClock } from '@pdm/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_FILES } from '../model/artifact-schemas.js';
import { writeLifecycle } from '../model/lifecycle.js';
import type { BaselineState } from '../model/robust-t2.js';
import { levelMachineWindows } from '../test-support/level-machine.js';
import { giveSlowBaseline } from '../test-support/slow-baseline.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { trainModel } from '../training/train.js';
import { scoreWindows } from './score-windows.js';
import { openScorer, type ModelScorer } from './scorer.js';

const TRAIN_START = 1_700_000_000_000;
const LIVE_START = TRAIN_START + 86_400_000;
let trained: Awaited<ReturnType<typeof tempRegistry>>;
let folder: string;

beforeAll(async () => {
  trained = await tempRegistry();
  folder = (await trainModel(levelMachineWindows({ seed: 1, windows: 300, startMs: TRAIN_START }), { outDir: trained.dir, name: 'level', kind: 'robust-t2' })).dir;
  await giveSlowBaseline(folder, 600_000);
});
afterAll(() => trained.cleanup());

async function publish(registryDir: string, version: string): Promise<void> {
  const dir = path.join(registryDir, 'level', version);
  await cp(folder, dir, { recursive: true, filter: (src) => !src.endsWith(MODEL_FILES.contract) });
  const contract = JSON.parse(await readFile(path.join(folder, MODEL_FILES.contract), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(dir, MODEL_FILES.contract), JSON.stringify({ ...contract, version }));
}

const baselineOf = (scorer: ModelScorer, version: string): BaselineState | undefined => scorer.baselineOf('level', version, 'site-test', 'm-1');

describe('per-machine states across promote and rollback', () => {
  it('keeps version 1 state while 2 serves (also through a restart with the state file) and drops it when 1 leaves the registry', async () => {
    const registry = await tempRegistry();
    const stateFile = path.join(await mkdtemp(path.join(registry.dir, '.state-')), 'scorer-state.json');
    const open = () => openScorer({ registryDir: registry.dir, clock: new ManualClock(), pollMs: 3_600_000, stateFile });
    const modelDir = path.join(registry.dir, 'level');
    try {
      await publish(registry.dir, '1');
      await publish(registry.dir, '2');
      await writeLifecycle(modelDir, { serving: '1', shadow: [] });
      let scorer = await open();
      // Sensor a 3 units up: the slow baseline follows it, away from the training location (≈100).
      await scoreWindows(scorer, levelMachineWindows({ seed: 2, windows: 200, startMs: LIVE_START, offsetA: () => 3 }));
      const learnt = structuredClone(baselineOf(scorer, '1')!);
      expect(learnt.baseline[0]! - 100).toBeGreaterThan(1);

      await writeLifecycle(modelDir, { serving: '2', shadow: [] }); // promote
      await scorer.reload();
      expect(scorer.loaded().map((m) => m.version)).toEqual(['2']);
      await scoreWindows(scorer, levelMachineWindows({ seed: 3, windows: 5, startMs: LIVE_START + 3_600_000 }));
      expect(baselineOf(scorer, '1')).toEqual(learnt);
      await scorer.close(); // saved while 2 serves
      scorer = await open();
      expect(baselineOf(scorer, '1')).toEqual(learnt);

      await writeLifecycle(modelDir, { serving: '1', shadow: [] }); // rollback
      await scorer.reload();
      expect(scorer.loaded().map((m) => m.version)).toEqual(['1']);
      expect(baselineOf(scorer, '1')).toEqual(learnt);

      // Version 2 removed from the registry: its state goes at the next check.
      expect(baselineOf(scorer, '2')).toBeDefined();
      await rm(path.join(modelDir, '2'), { recursive: true });
      await scorer.reload();
      expect(baselineOf(scorer, '2')).toBeUndefined();
      expect(baselineOf(scorer, '1')).toEqual(learnt);
      await scorer.close();
    } finally {
      await registry.cleanup();
    }
  });

  it('keeps the per-machine states while the registry lists nothing (its volume not mounted), and serves on with them once it is back', async () => {
    const registry = await tempRegistry();
    const scorer = await openScorer({ registryDir: registry.dir, clock: new ManualClock(), pollMs: 3_600_000 });
    const away = `${registry.dir}-unmounted`;
    try {
      await publish(registry.dir, '1');
      await scorer.reload();
      await scoreWindows(scorer, levelMachineWindows({ seed: 2, windows: 200, startMs: LIVE_START, offsetA: () => 3 }));
      const learnt = structuredClone(baselineOf(scorer, '1')!);
      await rename(registry.dir, away); // the volume drops
      await scorer.reload();
      expect(baselineOf(scorer, '1')).toEqual(learnt);
      await rename(away, registry.dir); // and comes back
      await scorer.reload();
      expect(scorer.loaded().map((m) => m.version)).toEqual(['1']);
      expect(baselineOf(scorer, '1')).toEqual(learnt);
    } finally {
      await scorer.close();
      await rm(away, { recursive: true, force: true });
      await registry.cleanup();
    }
  });
});
