// Drift through the whole processor: a model trained by trainModel carries its feature profile; windows
// from a machine that has moved away from its training data reach the processor in FeatureBatches, and
// the processor reports the model version's PSI as a gauge and as `model_drift` points in InfluxDB,
// with the retrain threshold of its configuration.
import { makeTestDataDir } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printableProcessorConfig } from './cli.js';
import { loadProcessorConfig } from './config/load.js';
import { DRIFT_DEFAULTS } from './scoring/drift.js';
import { useProcessorTestbeds } from './test-support/processor-testbed.js';
import { makeWindow } from './test-support/windows.js';
import { trainModel } from './training/train.js';

describe('model drift', () => {
  const startTestbed = useProcessorTestbeds();
  let registryDir: string;
  beforeAll(async () => {
    registryDir = makeTestDataDir('drift-registry');
    await trainModel(Array.from({ length: 40 }, (_, index) => makeWindow({ index })), { outDir: registryDir, name: 'pump', kind: 'robust-t2' });
  });
  afterAll(() => rmSync(registryDir, { recursive: true, force: true }));

  it('reports the PSI of a served version whose windows moved away from training, as a gauge and in model_drift', async () => {
    const t = await startTestbed({ model: { registryDir, driftRetrainPsi: 0.3 }, pipelineReportIntervalMs: 200 });
    const processor = await t.start();
    // Every sensor's level and spread shifted: each feature far above anything training saw.
    const drifted = Array.from({ length: DRIFT_DEFAULTS.minWindows }, (_, i) => makeWindow({ index: 100 + i, faulty: true }));
    for (let i = 0; i < drifted.length; i += 50) await t.bed.publishBatch(drifted.slice(i, i + 50));
    await until(() => t.bed.stats().acked === 4, 'the 4 batches acked', 60_000);
    // The next report after the last window counted them all.
    const deadline = Date.now() + 10_000;
    while ((await t.count(`SELECT max(windows) FROM model_drift`)) !== drifted.length) {
      if (Date.now() > deadline) throw new Error('no model_drift point over every window within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const [row] = await t.rows(`SELECT last(psi), feature, threshold, windows, instance FROM model_drift WHERE model = 'pump' AND version = '1'`);
    const [, psi, feature, threshold, windows, instance] = row as [number, number, string, number, number, string];
    // 40 training windows give 2 bins per feature, split at the median; every live window lands in the
    // upper one: shares [0, 1] against [0.5, 0.5], the empty bin floored at 1e-4 (by hand).
    expect(psi).toBeCloseTo(0.5 * Math.log(2) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4), 9);
    expect(threshold).toBe(0.3);
    expect(windows).toBe(drifted.length);
    expect(instance).toBe('processor-1');
    expect(feature).toMatch(/^(temp|vib|current)\./);
    expect(psi).toBeGreaterThan(threshold);
    expect(await processor.metrics.value('pdm_processor_model_drift_psi', { model: 'pump', version: '1' })).toBeCloseTo(psi, 9);
  });

  it('takes the retrain threshold from model.driftRetrainPsi (default 0.25), refusing a non-positive one by name', () => {
    const defaults = loadProcessorConfig({ env: {} });
    expect(defaults.model.driftRetrainPsi).toBeUndefined();
    expect((printableProcessorConfig(defaults) as { model: { driftRetrainPsi: number } }).model.driftRetrainPsi).toBe(0.25);
    expect(loadProcessorConfig({ env: { PDM_PROCESSOR_MODEL__DRIFT_RETRAIN_PSI: '0.1' } }).model.driftRetrainPsi).toBe(0.1);
    expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_MODEL__DRIFT_RETRAIN_PSI: '0' } })).toThrow(/model\.driftRetrainPsi \(from PDM_PROCESSOR_MODEL__DRIFT_RETRAIN_PSI\): /);
  });
});
