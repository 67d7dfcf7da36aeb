// The drift reporter against a real influxd: the gauge per served version, `model_drift` points with
// every field, and versions no longer served dropped.
import { ManualClock } from '@pdm/clock';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedModelInfo, Scorer } from '../model/api.js';
import type { FeatureProfileFile } from '../model/feature-profile.js';
import type { ModelBundle } from '../model/model-bundle.js';
import { DriftMonitor } from '../scoring/drift.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
import { DriftReporter } from './drift-reporter.js';
import { ProcessorMetrics } from './metrics.js';

const profile: FeatureProfileFile = {
  featureNames: ['temp.mean', 'vib.rms'],
  windows: 100,
  features: [{ edges: [0], shares: [0.5, 0.5] }, { edges: [0], shares: [0.5, 0.5] }],
};
const bundle = (version: string) => ({ info: { name: 'pump', version }, profile }) as unknown as ModelBundle;

/** A scorer that only says which versions it serves. */
function servingScorer(versions: string[]): Scorer {
  return { loaded: (): LoadedModelInfo[] => versions.map((version) => ({ name: 'pump', version, role: 'serving', backend: 'cpu', windowMs: 10_000 })) } as unknown as Scorer;
}

describe('DriftReporter against a real influxd', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx.stop();
  });

  it('sets the gauge and writes a model_drift point per served version, and forgets a version no longer served', async () => {
    const database = uniqueDatabaseName('drift');
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 1 });
    await sink.start();
    const metrics = new ProcessorMetrics();
    const monitor = new DriftMonitor({ windows: 4, minWindows: 4 });
    // Version 3: temp.mean as trained, vib.rms all below 0. Version 4: both as trained.
    for (const row of [[-1, -1], [1, -1], [-1, -1], [1, -1]]) monitor.observe(bundle('3'), row);
    for (const row of [[-1, -1], [1, 1], [-1, -1], [1, 1]]) monitor.observe(bundle('4'), row);
    const versions = ['3', '4'];
    const clock = new ManualClock(Date.now());
    const reporter = new DriftReporter(monitor, servingScorer(versions), sink, metrics, { instance: 'proc-1', retrainPsi: 0.25 }, clock, pino({ level: 'silent' }));
    await reporter.report();
    await sink.flush();

    // Shares [1, 0] against [0.5, 0.5], the empty bin floored at 1e-4 (by hand).
    const vibPsi = 0.5 * Math.log(2) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5);
    expect(await metrics.value('pdm_processor_model_drift_psi', { model: 'pump', version: '3' })).toBeCloseTo(vibPsi, 9);
    expect(await metrics.value('pdm_processor_model_drift_psi', { model: 'pump', version: '4' })).toBe(0);
    const result = (await influx.query('SELECT * FROM model_drift GROUP BY * ORDER BY time', database)).results[0];
    const series = result?.series ?? [];
    expect(series.map((s) => s.tags)).toEqual([
      { instance: 'proc-1', model: 'pump', version: '3' },
      { instance: 'proc-1', model: 'pump', version: '4' },
    ]);
    const row = (s: (typeof series)[number]) => Object.fromEntries(s.columns.map((c, i) => [c, s.values[0]![i]]));
    expect(row(series[0]!)).toMatchObject({ feature: 'vib.rms', threshold: 0.25, windows: 4, 'psi_temp.mean': 0 });
    expect(row(series[0]!)['psi'] as number).toBeCloseTo(vibPsi, 9);
    expect(row(series[0]!)['psi_vib.rms'] as number).toBeCloseTo(vibPsi, 9);
    expect(row(series[1]!)).toMatchObject({ psi: 0, windows: 4 });

    versions.splice(0, 1); // version 3 retired
    clock.advance(10_000);
    await reporter.report();
    const gauge = await metrics.registry.getSingleMetric('pdm_processor_model_drift_psi')!.get();
    expect(gauge.values.map((v) => v.labels)).toEqual([{ model: 'pump', version: '4' }]);
  });
});
