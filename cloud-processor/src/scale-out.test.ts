import { startTestInflux, type RunningInflux } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessorTestbed } from './test-support/processor-testbed.js';
import { ScriptedScorer } from './test-support/scripted-scorer.js';
import { makeWindow, SENSORS } from './test-support/windows.js';

describe('scale-out: processors sharing one subscription', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx.stop();
  });

  it('share the load and together write every window exactly once', async () => {
    // Small flow-control windows so neither instance can lease everything at once.
    const t = await startProcessorTestbed(influx, { pubsub: { flowControl: { maxMessages: 2 } } });
    try {
      const a = await t.start({ instanceId: 'processor-a' }, { scorer: new ScriptedScorer() });
      const b = await t.start({ instanceId: 'processor-b' }, { scorer: new ScriptedScorer() });
      const machines = Array.from({ length: 8 }, (_, i) => `machine-${i}`);
      const windows = machines.flatMap((machine) => Array.from({ length: 10 }, (_, index) => makeWindow({ machine, index })));
      await Promise.all(windows.map((w) => t.bed.publishWindow(w)));
      await until(() => t.bed.stats().acked === windows.length, `${windows.length} acks`, 30_000);
      const handledA = await a.metrics.value('pdm_processor_messages_total', { outcome: 'acked' });
      const handledB = await b.metrics.value('pdm_processor_messages_total', { outcome: 'acked' });
      expect(handledA + handledB).toBe(windows.length);
      expect(handledA).toBeGreaterThan(0);
      expect(handledB).toBeGreaterThan(0);
      expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(windows.length * SENSORS.length);
      expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(windows.length);
      const series = await t.rows('SELECT COUNT(score) FROM anomaly GROUP BY machine');
      expect(series).toHaveLength(machines.length);
    } finally {
      await t.close();
    }
  });
});
