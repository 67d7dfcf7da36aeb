// Models scoped to machines, through the whole processor: trainModel writes the scope into contract.json,
// the processor picks each machine's model by scope and sensors, and every window no model scored is
// counted and written to InfluxDB's `unscored` measurement with its machine and reason.
import { makeTestDataDir } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_FILES } from './model/artifact-schemas.js';
import { useProcessorTestbeds } from './test-support/processor-testbed.js';
import { makeWindow, T0, WINDOW_MS } from './test-support/windows.js';
import { trainModel } from './training/train.js';

const THREE = ['temp', 'vib', 'current'] as const;
const TWO = ['temp', 'vib'] as const;

describe('models scoped to machines', () => {
  const startTestbed = useProcessorTestbeds();
  let registryDir: string;
  beforeAll(async () => {
    registryDir = makeTestDataDir('scoped-registry');
    const training = (machine: string, sensors: readonly string[]) => Array.from({ length: 40 }, (_, index) => makeWindow({ machine, index, sensors }));
    await trainModel(training('pump-1', THREE), { outDir: registryDir, name: 'pumps', kind: 'robust-t2', machines: ['pump-*'] });
    await trainModel(training('press-7', THREE), { outDir: registryDir, name: 'press-7', kind: 'robust-t2', machines: ['press-7'] });
    await trainModel(training('fan-2', TWO), { outDir: registryDir, name: 'fleet', kind: 'robust-t2' });
  });
  afterAll(() => rmSync(registryDir, { recursive: true, force: true }));

  it('writes the scope into contract.json, and none when not asked', () => {
    const contract = (name: string) => JSON.parse(readFileSync(path.join(registryDir, name, '1', MODEL_FILES.contract), 'utf8')) as { machines?: string[] };
    expect(contract('pumps').machines).toEqual(['pump-*']);
    expect(contract('press-7').machines).toEqual(['press-7']);
    expect(contract('fleet')).not.toHaveProperty('machines');
  });

  it("scores each machine with its scope's model or the unscoped one, and writes every unscored window with its machine and reason", async () => {
    const t = await startTestbed({ model: { registryDir } });
    const processor = await t.start();
    const windows = [
      makeWindow({ machine: 'pump-1', index: 100, sensors: THREE }), // pumps (glob)
      makeWindow({ machine: 'pump-12', index: 100, sensors: THREE }), // pumps (glob)
      makeWindow({ machine: 'press-7', index: 100, sensors: THREE }), // press-7 (exact id)
      makeWindow({ machine: 'press-8', index: 100, sensors: THREE }), // outside both scopes: fleet (it carries temp and vib)
      makeWindow({ machine: 'fan-2', index: 100, sensors: TWO }), // fleet
      makeWindow({ machine: 'pump-3', index: 100, sensors: TWO }), // pumps lacks current: a mismatch, not fleet
      makeWindow({ machine: 'mixer-1', index: 100, sensors: ['rpm'] }), // no scope, no sensor of fleet: no model
      makeWindow({ machine: 'mixer-1', index: 101, sensors: ['rpm'] }),
    ];
    for (const w of windows) await t.bed.publishWindow(w);
    await until(() => t.bed.stats().acked === windows.length, `${windows.length} acks`, 20_000);

    const scoredBy = async (machine: string) => (await t.rows(`SELECT score, model FROM anomaly WHERE machine = '${machine}'`)).map((r) => r[2]);
    expect(await scoredBy('pump-1')).toEqual(['pumps']);
    expect(await scoredBy('pump-12')).toEqual(['pumps']);
    expect(await scoredBy('press-7')).toEqual(['press-7']);
    expect(await scoredBy('press-8')).toEqual(['fleet']);
    expect(await scoredBy('fan-2')).toEqual(['fleet']);
    expect(await scoredBy('pump-3')).toEqual([]);
    expect(await scoredBy('mixer-1')).toEqual([]);

    expect(await t.rows(`SELECT machine, reason, windows, detail FROM unscored WHERE reason = 'no_model'`)).toEqual([
      // At the window's start, like its other points: a redelivery overwrites it.
      [T0 + 100 * WINDOW_MS, 'mixer-1', 'no_model', 1, expect.stringMatching(/^no model applies: .*\(rpm\)$/)],
      [T0 + 101 * WINDOW_MS, 'mixer-1', 'no_model', 1, expect.any(String)],
    ]);
    expect(await t.rows(`SELECT machine, windows, detail FROM unscored WHERE reason = 'contract_mismatch'`)).toEqual([
      [T0 + 100 * WINDOW_MS, 'pump-3', 1, expect.stringMatching(/^model pumps@1: missing sensor 'current'/)],
    ]);
    // Which machines had windows without a score, and how many: what the fleet dashboard lists.
    expect(await t.count(`SELECT sum(windows) FROM unscored WHERE machine = 'mixer-1' AND reason = 'no_model'`)).toBe(2);
    expect(await t.count(`SELECT sum(windows) FROM unscored WHERE machine = 'pump-3' AND reason = 'contract_mismatch'`)).toBe(1);
    expect(await t.count(`SELECT count(windows) FROM unscored`)).toBe(3);
    expect(await processor.metrics.value('pdm_processor_score_outcomes_total', { outcome: 'no_model' })).toBe(2);
    expect(await processor.metrics.value('pdm_processor_score_outcomes_total', { outcome: 'contract_mismatch' })).toBe(1);
    expect(await processor.metrics.value('pdm_processor_score_outcomes_total', { outcome: 'scored' })).toBe(5);
  });
});
