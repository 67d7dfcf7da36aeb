// End to end with the real TensorFlow.js model: train on synthetic normal windows into a temporary
// registry, start the processor on it (openScorer, as in production), publish normal and faulty
// windows the way the gateway does, and read the results back from InfluxDB and the alerts topic.
import { makeTestDataDir, startTestInflux, type RunningInflux } from '@pdm/influx-harness';
import { AlertSchema, AlertState, fromBinary } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainModel } from './training/train.js';
import { startProcessorTestbed } from './test-support/processor-testbed.js';
import { makeWindow, SENSORS } from './test-support/windows.js';

describe('processor end to end with a trained model', () => {
  let influx: RunningInflux;
  let registryDir: string;
  beforeAll(async () => {
    influx = await startTestInflux();
    registryDir = makeTestDataDir('registry');
    const training = Array.from({ length: 80 }, (_, index) => makeWindow({ machine: 'pump-1', index }));
    await trainModel(training, { outDir: registryDir, name: 'pump', kind: 'autoencoder', epochs: 60 });
  });
  afterAll(async () => {
    await influx.stop();
    rmSync(registryDir, { recursive: true, force: true });
  });

  it('scores every window with the model, flags the faulty ones and opens an alert', async () => {
    const t = await startProcessorTestbed(influx, { model: { registryDir }, alerts: { openAfter: 3, resolveAfter: 3 } });
    try {
      const processor = await t.start();
      expect(processor.scorer.loaded().map((m) => m.name)).toEqual(['pump']);
      const normal = Array.from({ length: 6 }, (_, i) => makeWindow({ machine: 'pump-1', index: 200 + i }));
      const faulty = Array.from({ length: 4 }, (_, i) => makeWindow({ machine: 'pump-1', index: 206 + i, faulty: true }));
      for (const w of [...normal, ...faulty]) await t.bed.publishWindow(w);
      await until(() => t.bed.stats().acked === 10, '10 acks', 20_000);

      expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(10 * SENSORS.length);
      const rows = await t.rows(`SELECT is_anomaly, score, threshold FROM anomaly WHERE model = 'pump'`);
      expect(rows).toHaveLength(10);
      const flags = rows.map((r) => r[1]);
      expect(flags.slice(0, 6)).toEqual([false, false, false, false, false, false]);
      expect(flags.slice(6)).toEqual([true, true, true, true]);
      const contributions = await t.rows(`SELECT ${SENSORS.map((s) => `contrib_${s}`).join(', ')} FROM anomaly LIMIT 1`);
      expect(contributions[0]?.slice(1).every((v) => typeof v === 'number')).toBe(true);

      const [alert] = await t.alerts.waitFor(1, 10_000);
      expect(fromBinary(AlertSchema, alert!.data)).toMatchObject({ machineId: 'pump-1', state: AlertState.OPEN, model: 'pump' });

      const ready = await fetch(`http://127.0.0.1:${processor.httpPort}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
