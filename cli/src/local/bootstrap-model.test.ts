import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { hasPublishedModel } from './bootstrap-model.js';

describe('hasPublishedModel', () => {
  const dir = makeTestDataDir('pdm-registry');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sees a model only once a version folder holds its contract.json, not in what a training that died left', async () => {
    const registry = join(dir, 'models');
    expect(await hasPublishedModel(registry)).toBe(false); // no folder at all
    mkdirSync(join(registry, 'pump', `.1.partial-${process.pid}`), { recursive: true });
    writeFileSync(join(registry, 'pump', `.1.partial-${process.pid}`, 'contract.json'), '{}');
    expect(await hasPublishedModel(registry)).toBe(false); // the staging folder of a training that died
    mkdirSync(join(registry, 'pump', '1'));
    expect(await hasPublishedModel(registry)).toBe(false); // a version folder still being filled
    writeFileSync(join(registry, 'pump', '1', 'contract.json'), '{}');
    expect(await hasPublishedModel(registry)).toBe(true);
  });
});
