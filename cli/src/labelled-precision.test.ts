// `pdm evaluate --from-influx` against a real influxd: precision per model and per machine from the
// labels on the alert episodes (expected values counted by hand from the points written).
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor/alert-workflow';
import { startTestInflux, uniqueDatabaseName } from '@pdm/influx-harness';
import { MachineWindowSchema, create } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture } from './test-support/capture.js';

describe('pdm evaluate --from-influx', () => {
  it('reports precision per model and per machine from the labelled alert episodes', async () => {
    const influx = await startTestInflux();
    try {
      const database = uniqueDatabaseName('labels');
      const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 1 });
      await sink.start();
      const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5 * 3_600_000;
      // pump-1 (model a): episodes labelled fault, fault, false_alarm → 2 / 3. fan-2 (model b): one
      // maintenance, one unlabelled → no precision. Each opens at the end of an anomalous window of its model.
      const plan = [
        ['pump-1', 'a', 1, 'fault'],
        ['pump-1', 'a', 2, 'fault'],
        ['pump-1', 'a', 3, 'false_alarm'],
        ['fan-2', 'b', 1, 'maintenance'],
        ['fan-2', 'b', 2, undefined],
      ] as const;
      for (const [machineId, model, hour, label] of plan) {
        const windowEnd = t0 + hour * 3_600_000;
        const window = create(MachineWindowSchema, { siteId: 'plant-1', machineId, gatewayId: 'g', windowStart: BigInt(windowEnd - 10_000), windowEnd: BigInt(windowEnd) });
        const score = { siteId: 'plant-1', machineId, windowStart: windowEnd - 10_000, windowEnd, model, modelVersion: '1', score: 9, threshold: 5, isAnomaly: true, contributions: {} };
        const alertId = `${machineId}-${windowEnd}`;
        await sink.writeScoredWindow(window, score);
        await sink.writeAlert({ siteId: 'plant-1', machineId, alertId, state: 'open', score: 9, message: 'm', windowEnd });
        if (label) await sink.writeAlertAction({ time: windowEnd + 60_000, siteId: 'plant-1', machineId, action: 'label', alertId, label, who: 'ana' });
      }
      // Another site's pump-1, scored by model c, anomalous just before plant-1's pump-1 opened its first
      // episode: another machine, whose model that episode is not credited to.
      const otherEnd = t0 + 3_600_000 + 5_000; // its point (at its start) 5 s after plant-1's, before the episode opened
      await sink.writeScoredWindow(
        create(MachineWindowSchema, { siteId: 'plant-2', machineId: 'pump-1', gatewayId: 'g2', windowStart: BigInt(otherEnd - 10_000), windowEnd: BigInt(otherEnd) }),
        { siteId: 'plant-2', machineId: 'pump-1', windowStart: otherEnd - 10_000, windowEnd: otherEnd, model: 'c', modelVersion: '1', score: 9, threshold: 5, isAnomaly: true, contributions: {} },
      );
      const io = capture();
      expect(await main(['evaluate', '--from-influx', '--since', '1d', '--influx-url', influx.url, '--database', database, '--json'], io.context)).toBe(0);
      const result = JSON.parse(io.out.join('\n')) as { byModel: unknown[]; byMachine: unknown[] };
      expect(result.byModel).toEqual([
        { key: 'a', episodes: 3, fault: 2, false_alarm: 1, maintenance: 0, unlabelled: 0, precision: 2 / 3 },
        { key: 'b', episodes: 2, fault: 0, false_alarm: 0, maintenance: 1, unlabelled: 1, precision: null },
      ]);
      expect(result.byMachine).toEqual([
        { key: 'plant-1/fan-2', episodes: 2, fault: 0, false_alarm: 0, maintenance: 1, unlabelled: 1, precision: null },
        { key: 'plant-1/pump-1', episodes: 3, fault: 2, false_alarm: 1, maintenance: 0, unlabelled: 0, precision: 2 / 3 },
      ]);
      const table = capture();
      expect(await main(['evaluate', '--from-influx', '--influx-url', influx.url, '--database', database], table.context)).toBe(0);
      expect(table.out).toContain('a         3      2            1            0           0       0.67');
    } finally {
      await influx.stop();
    }
  });
});
