// ModelSet with lifecycle files, on real (small) model versions: which versions it loads in which role,
// that a new version waits to be named, that a promotion reuses the loaded bundle and retires the rest,
// and that a bad lifecycle file is refused once while the model keeps what it served.
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MODEL_FILES } from '../model/artifact-schemas.js';
import { writeLifecycle, type Lifecycle } from '../model/lifecycle.js';
import { silentLogger, type ModelLogger } from '../model/logger.js';
import type { ModelBundle } from '../model/model-bundle.js';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { trainModel } from '../training/train.js';
import { ModelSet } from './model-set.js';

type Registry = Awaited<ReturnType<typeof tempRegistry>>;
let trained: Registry;
let trainedDir: string;

beforeAll(async () => {
  trained = await tempRegistry();
  trainedDir = (await trainModel(simulatePump({ seed: 2, windows: 30 }).windows, { outDir: trained.dir, name: 'pump', kind: 'autoencoder', epochs: 2 })).dir;
});
afterAll(() => trained.cleanup());

describe('ModelSet with lifecycle files', () => {
  let registry: Registry;
  let models: ModelSet;
  let retirements: number;
  const modelDir = () => path.join(registry.dir, 'pump');

  /** Version `version` of `pump`: the trained folder, its contract renamed. */
  async function addVersion(version: string) {
    const dir = path.join(modelDir(), version);
    await cp(trainedDir, dir, { recursive: true });
    const contract = JSON.parse(await readFile(path.join(dir, MODEL_FILES.contract), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(dir, MODEL_FILES.contract), JSON.stringify({ ...contract, version }));
  }
  const refresh = () => models.refresh(() => retirements++);
  const versions = (bundles: readonly ModelBundle[]) => bundles.map((b) => b.info.version);
  const roles = () =>
    models.served().map((m) => ({ serving: m.serving.info.version, rollout: m.rollout && [m.rollout.bundle.info.version, ...m.rollout.machines], shadows: versions(m.shadows) }));

  beforeEach(async () => {
    registry = await tempRegistry();
    for (const version of ['1', '2', '3', '4']) await addVersion(version);
    models = new ModelSet(registry.dir, silentLogger);
    retirements = 0;
    return async () => {
      models.dispose();
      await registry.cleanup();
    };
  });

  it('without a lifecycle file serves the newest version, and a new one at once (as before lifecycles)', async () => {
    await refresh();
    expect(roles()).toEqual([{ serving: '4', rollout: undefined, shadows: [] }]);
    await addVersion('5');
    await refresh();
    expect(roles()).toEqual([{ serving: '5', rollout: undefined, shadows: [] }]);
    expect(retirements).toBe(1);
  });

  it('loads the versions the lifecycle names, in their roles; a new version waits until it is named', async () => {
    await writeLifecycle(modelDir(), { serving: '2', shadow: ['4'], rollout: { version: '4', machines: ['pump-1', 'line2-*'] } });
    await refresh();
    expect(roles()).toEqual([{ serving: '2', rollout: ['4', 'pump-1', 'line2-*'], shadows: ['4'] }]);
    // Version 4 is rolled out and in shadow: loaded once.
    expect(models.loads).toBe(2);
    const [served] = models.served();
    expect(served?.shadows[0]).toBe(served?.rollout?.bundle);
    await writeLifecycle(modelDir(), { serving: '2', shadow: ['3'], rollout: { version: '4', machines: ['pump-1', 'line2-*'] } });
    await refresh();
    expect(roles()).toEqual([{ serving: '2', rollout: ['4', 'pump-1', 'line2-*'], shadows: ['3'] }]);
    expect(models.loads).toBe(3);

    await addVersion('5');
    await refresh();
    expect(roles()).toEqual([{ serving: '2', rollout: ['4', 'pump-1', 'line2-*'], shadows: ['3'] }]);
    expect(models.loads).toBe(3);
  });

  it('a promotion serves the shadow bundle already loaded and retires the versions no longer named', async () => {
    await writeLifecycle(modelDir(), { serving: '2', shadow: ['3'], rollout: { version: '4', machines: ['pump-1'] } });
    await refresh();
    const shadow = models.served()[0]!.shadows[0]!;
    await writeLifecycle(modelDir(), { serving: '3', shadow: [] });
    await refresh();
    expect(roles()).toEqual([{ serving: '3', rollout: undefined, shadows: [] }]);
    expect(models.served()[0]!.serving).toBe(shadow);
    expect(models.loads).toBe(3);
    expect(retirements).toBe(1);
    // The lifecycle file removed: back to the newest version.
    await rm(path.join(modelDir(), 'lifecycle.json'));
    await refresh();
    expect(roles()).toEqual([{ serving: '4', rollout: undefined, shadows: [] }]);
  });

  it('refuses a bad lifecycle file once per change of it and keeps what the model served', async () => {
    const lifecycle: Lifecycle = { serving: '2', shadow: ['3'] };
    await writeLifecycle(modelDir(), lifecycle);
    await refresh();
    await writeFile(path.join(modelDir(), 'lifecycle.json'), '{"serving": "3", "shadows": ["4"]}');
    await refresh();
    await refresh();
    expect(models.lifecyclesRefused).toBe(1);
    expect(roles()).toEqual([{ serving: '2', rollout: undefined, shadows: ['3'] }]);
    await writeFile(path.join(modelDir(), 'lifecycle.json'), '{"serving": 3}');
    await refresh();
    expect(models.lifecyclesRefused).toBe(2);
    await writeLifecycle(modelDir(), { serving: '3', shadow: [] });
    await refresh();
    expect(roles()).toEqual([{ serving: '3', rollout: undefined, shadows: [] }]);
  });

  it('refuses a lifecycle.json it cannot read (a directory) like a bad one: counted, the model keeps what it served', async () => {
    await writeLifecycle(modelDir(), { serving: '2', shadow: [] });
    await refresh();
    await rm(path.join(modelDir(), 'lifecycle.json'));
    await mkdir(path.join(modelDir(), 'lifecycle.json'));
    await refresh();
    await refresh();
    expect(models.lifecyclesRefused).toBe(1);
    expect(roles()).toEqual([{ serving: '2', rollout: undefined, shadows: [] }]);
  });

  it('keeps the serving version when the lifecycle names one the registry lacks, and skips a missing shadow', async () => {
    await writeLifecycle(modelDir(), { serving: '2', shadow: [] });
    await refresh();
    await writeLifecycle(modelDir(), { serving: '9', shadow: ['8'] });
    await refresh();
    expect(roles()).toEqual([{ serving: '2', rollout: undefined, shadows: [] }]);
    await writeLifecycle(modelDir(), { serving: '9', shadow: ['3'] });
    await refresh();
    expect(roles()).toEqual([{ serving: '2', rollout: undefined, shadows: ['3'] }]);
  });

  describe('after a restart (nothing of the model loaded yet)', () => {
    let errors: string[];
    let fresh: ModelSet;
    const logger = { ...silentLogger, error: (_fields: object, message: string) => void errors.push(message) } as unknown as ModelLogger;
    const freshRoles = () => fresh.served().map((m) => ({ serving: m.serving.info.version, shadows: versions(m.shadows) }));
    beforeEach(() => {
      errors = [];
      fresh = new ModelSet(registry.dir, logger);
      return () => fresh.dispose();
    });

    it('serves the newest loadable version when the lifecycle names a serving version the registry lacks, and says so', async () => {
      await writeLifecycle(modelDir(), { serving: '9', shadow: ['3'] });
      await fresh.refresh(() => undefined);
      expect(freshRoles()).toEqual([{ serving: '4', shadows: ['3'] }]);
      expect(errors).toContain('lifecycle.json names serving version 9, which cannot serve: serving the newest loadable version 4 until it is fixed');
    });

    it('serves the newest loadable version when the serving version named fails to load', async () => {
      await writeLifecycle(modelDir(), { serving: '2', shadow: [] });
      await writeFile(path.join(modelDir(), '2', MODEL_FILES.contract), '{');
      await writeFile(path.join(modelDir(), '4', MODEL_FILES.contract), '{');
      await fresh.refresh(() => undefined);
      expect(freshRoles()).toEqual([{ serving: '3', shadows: [] }]);
      expect(errors).toContain('lifecycle.json names serving version 2, which cannot serve: serving the newest loadable version 3 until it is fixed');
    });

    it('serves the newest loadable version while lifecycle.json is invalid, keeps it at later polls, and follows the file once fixed', async () => {
      const file = path.join(modelDir(), 'lifecycle.json');
      await writeFile(file, '{"serving": 3}');
      await fresh.refresh(() => undefined);
      await fresh.refresh(() => undefined);
      expect(freshRoles()).toEqual([{ serving: '4', shadows: [] }]);
      expect(fresh.lifecyclesRefused).toBe(1);
      expect(errors.filter((e) => e.endsWith('until it is fixed'))).toEqual([`${file} invalid: serving the newest loadable version 4 until it is fixed`]);
      await writeLifecycle(modelDir(), { serving: '2', shadow: [] });
      await fresh.refresh(() => undefined);
      expect(freshRoles()).toEqual([{ serving: '2', shadows: [] }]);
    });
  });
});
