import { startInflux, makeTestDataDir } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startProcessorTestbed, useProcessorTestbeds } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import type { MachineWindow } from '@pdm/proto';
import type { ScoreOutcome } from '../model/api.js';
import { makeWindow, SENSORS, T0 } from '../test-support/windows.js';

describe('scoring pipeline: Pub/Sub → features + score → InfluxDB, ack after write', () => {
  const startTestbed = useProcessorTestbeds();

  it('writes each window once: a redelivery and a revision overwrite the same points', async () => {
    const t = await startTestbed();
    const scorer = new ScriptedScorer();
    const processor = await t.start({}, { scorer });
    const window = makeWindow({ machine: 'pump-1', index: 1 });
    await t.bed.publishWindow(window);
    await t.bed.publishWindow(window); // the gateway republished it (e.g. after a lost confirm)
    await t.bed.publishWindow(makeWindow({ machine: 'pump-1', index: 1, revision: 1 }));
    await until(() => t.bed.stats().acked === 3, 'three acks');
    expect(scorer.calls).toBe(3);
    expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(SENSORS.length);
    expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(1);
    expect(await t.rows('SELECT revision FROM sensor_features')).toEqual(SENSORS.map((): unknown[] => [expect.any(Number), 1]));
    expect(await processor.metrics.value('pdm_processor_messages_total', { outcome: 'acked' })).toBe(3);
  });

  it('skips an older revision that arrives after a newer one, so it cannot overwrite it', async () => {
    const t = await startTestbed();
    const processor = await t.start({}, { scorer: new ScriptedScorer() });
    await t.bed.publishWindow(makeWindow({ index: 2, revision: 1 }));
    await until(() => t.bed.stats().acked === 1, 'first ack');
    await t.bed.publishWindow(makeWindow({ index: 2, revision: 0 }));
    await until(() => t.bed.stats().acked === 2, 'second ack');
    expect(await t.rows('SELECT revision FROM sensor_features')).toEqual(SENSORS.map((): unknown[] => [expect.any(Number), 1]));
    expect(await processor.metrics.value('pdm_processor_stale_revisions_total')).toBe(1);
  });

  it('remembers revisions for as many machines as config `revisions.machines` says', async () => {
    // Revision 1 of pump-1's window, then a window of pump-2, then revision 0 of pump-1's again: a guard
    // of two machines still knows pump-1's window and skips the older revision; a guard of one forgot
    // pump-1 for pump-2 and lets it through (the documented bound).
    const storedRevision = async (machines: number) => {
      const t = await startTestbed();
      const processor = await t.start({ revisions: { machines } }, { scorer: new ScriptedScorer() });
      await t.bed.publishWindow(makeWindow({ machine: 'pump-1', index: 2, revision: 1 }));
      await t.bed.publishWindow(makeWindow({ machine: 'pump-2', index: 2 }));
      await t.bed.publishWindow(makeWindow({ machine: 'pump-1', index: 2, revision: 0 }));
      await until(() => t.bed.stats().acked === 3, 'three acks');
      const rows = await t.rows("SELECT revision FROM sensor_features WHERE machine = 'pump-1'");
      return {
        revisions: new Set(rows.map((row) => row[1])),
        stale: await processor.metrics.value('pdm_processor_stale_revisions_total'),
        forgotten: await processor.metrics.value('pdm_processor_revision_machines_forgotten_total'),
      };
    };
    expect(await storedRevision(2)).toEqual({ revisions: new Set([1]), stale: 1, forgotten: 0 });
    // pump-1 forgotten for pump-2, then pump-2 for pump-1: counted, so an operator sees the bound bite.
    expect(await storedRevision(1)).toEqual({ revisions: new Set([0]), stale: 0, forgotten: 2 });
  });

  it('refuses a revision already written with other content: the first stays, the refusal is counted', async () => {
    const t = await startTestbed();
    const processor = await t.start({}, { scorer: new ScriptedScorer() });
    const first = makeWindow({ index: 3 });
    await t.bed.publishWindow(first);
    await until(() => t.bed.stats().acked === 1, 'first ack');
    const other = makeWindow({ index: 3 });
    for (const sensor of other.sensors) sensor.mean += 1;
    await t.bed.publishWindow(other);
    await until(() => t.bed.stats().acked === 2, 'second ack');
    expect(await t.rows('SELECT mean FROM sensor_features WHERE sensor = \'temp\'')).toEqual([[expect.any(Number), first.sensors[0]!.mean]]);
    expect(await processor.metrics.value('pdm_processor_revision_conflicts_total')).toBe(1);
    expect(await processor.metrics.value('pdm_processor_stale_revisions_total')).toBe(0);
  });

  it('stores the windows of machines with the same id at two sites, neither refused as the other', async () => {
    const t = await startTestbed();
    const processor = await t.start({}, { scorer: new ScriptedScorer() });
    const plant1 = makeWindow({ site: 'plant-1', machine: 'pump-1', index: 3 });
    const plant2 = makeWindow({ site: 'plant-2', machine: 'pump-1', index: 3 });
    for (const sensor of plant2.sensors) sensor.mean += 1;
    await t.bed.publishWindow(plant1);
    await t.bed.publishWindow(plant2);
    await until(() => t.bed.stats().acked === 2, 'two acks');
    const means = await t.rows("SELECT mean, site FROM sensor_features WHERE machine = 'pump-1' AND sensor = 'temp'");
    expect(means.map((row) => row.slice(1)).sort((a, b) => String(a[1]).localeCompare(String(b[1])))).toEqual([[plant1.sensors[0]!.mean, 'plant-1'], [plant2.sensors[0]!.mean, 'plant-2']]);
    expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(2);
    expect(await processor.metrics.value('pdm_processor_revision_conflicts_total')).toBe(0);
  });

  it("handles machines of the same id at two sites side by side: one's slow window does not hold the other's", async () => {
    // Single windows: both under ordering key pump-1, handed out together (published before the processor subscribes).
    const t = await startTestbed({}, { orderingKeyBatch: 10 });
    const scored: string[] = [];
    let releasedBy: 'the other scored' | 'timeout' | undefined;
    const scorer = new (class extends ScriptedScorer {
      override async score(window: MachineWindow): Promise<ScoreOutcome> {
        if (window.siteId === 'plant-1') {
          releasedBy = await until(() => scored.includes('plant-2'), "plant-2's window scored", 2_000).then(
            () => 'the other scored' as const,
            () => 'timeout' as const,
          );
        }
        scored.push(window.siteId);
        return super.score(window);
      }
    })();
    await t.bed.publishWindow(makeWindow({ site: 'plant-1', machine: 'pump-1', index: 4 }));
    await t.bed.publishWindow(makeWindow({ site: 'plant-2', machine: 'pump-1', index: 4 }));
    await t.start({}, { scorer });
    await until(() => t.bed.stats().acked === 2, 'both acked', 10_000);
    expect(releasedBy).toBe('the other scored');
    expect(scored).toEqual(['plant-2', 'plant-1']);
  });

  it('writes features and an unscored point but no anomaly point when no model applies, and counts it', async () => {
    const t = await startTestbed();
    const scorer = new ScriptedScorer();
    scorer.mode = 'no_model';
    const processor = await t.start({}, { scorer });
    await t.bed.publishWindow(makeWindow());
    await t.bed.publishWindow(makeWindow()); // a redelivery overwrites its unscored point
    await until(() => t.bed.stats().acked === 2, 'acks');
    expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(SENSORS.length);
    expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(0);
    expect(await t.rows('SELECT site, machine, reason, windows FROM unscored')).toEqual([[T0, 'plant-1', 'pump-1', 'no_model', 1]]);
    expect(await processor.metrics.value('pdm_processor_score_outcomes_total', { outcome: 'no_model' })).toBe(2);
  });

  it('stores the features of a window the running-state gate held, says why in its unscored point, and raises no alert', async () => {
    const t = await startTestbed();
    const scorer = new ScriptedScorer();
    scorer.mode = 'held';
    const processor = await t.start({ alerts: { openAfter: 1, within: 1, resolveAfter: 1 } }, { scorer });
    for (const index of [0, 1, 2]) await t.bed.publishWindow(makeWindow({ index, faulty: true }));
    await until(() => t.bed.stats().acked === 3, 'acks');
    expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(3 * SENSORS.length);
    expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(0);
    expect(await t.rows('SELECT reason, detail FROM unscored LIMIT 1')).toEqual([[T0, 'held', 'held: the machine is stopped (a state sensor below its running level)']]);
    expect(await processor.metrics.value('pdm_processor_score_outcomes_total', { outcome: 'held' })).toBe(3);
    expect(await t.count('SELECT COUNT(score) FROM alerts')).toBe(0);
  });

  it('still stores the features when scoring fails, and nacks the window for another try', async () => {
    const t = await startTestbed();
    const scorer = new ScriptedScorer();
    scorer.mode = 'throw';
    const processor = await t.start({}, { scorer });
    await t.bed.publishWindow(makeWindow());
    await until(() => t.bed.stats().nacked >= 1, 'nack');
    expect(t.bed.stats().acked).toBe(0);
    expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(SENSORS.length);
    expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(0);
    expect(await processor.metrics.value('pdm_processor_messages_total', { outcome: 'nacked' })).toBeGreaterThanOrEqual(1);
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const t = await startTestbed();
    const processor = await t.start({}, { scorer: new ScriptedScorer() });
    // Closed at the gateway two minutes before now, accepted by Pub/Sub (the emulator's manual clock)
    // one minute before now: a minute each in the gateway and delivery stages, close-to-store above both.
    t.bed.t.clock.advance(Math.max(0, Date.now() - 60_000 - t.bed.t.clock.now()));
    await t.bed.publishWindow({ ...makeWindow(), closedAt: BigInt(Date.now() - 120_000) });
    await until(() => t.bed.stats().acked === 1, 'ack');
    const base = `http://127.0.0.1:${processor.httpPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    const body = (await ready.json()) as { status: string; info: Record<string, { status: string }> };
    expect(ready.status).toBe(200);
    expect(Object.fromEntries(Object.entries(body.info).map(([k, v]) => [k, v.status]))).toEqual({ pubsub: 'up', influxdb: 'up', model: 'up' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/pdm_processor_messages_total\{outcome="acked",schema="pdm.v1.MachineWindow"\} 1/);
    expect(metrics).toMatch(/pdm_processor_end_to_end_latency_seconds_count 1/);
    expect(metrics).toMatch(/pdm_processor_close_to_store_latency_seconds_bucket\{le="30"\} 0\n/);
    expect(metrics).toMatch(/pdm_processor_close_to_store_latency_seconds_bucket\{le="300"\} 1\n/);
    for (const stage of ['gateway', 'delivery']) {
      expect(metrics).toMatch(new RegExp(`pdm_processor_close_to_store_stage_seconds_bucket\\{le="30",stage="${stage}"\\} 0\n`));
      expect(metrics).toMatch(new RegExp(`pdm_processor_close_to_store_stage_seconds_bucket\\{le="300",stage="${stage}"\\} 1\n`));
    }
    expect(metrics).toMatch(/pdm_processor_close_to_store_stage_seconds_bucket\{le="30",stage="processor"\} 1\n/);
    await processor.reportPipeline();
    await processor.stop(); // flushes the batched pipeline point
    const [report] = await t.rows(`SELECT messages, dead_letters, contract_mismatches FROM pipeline WHERE component = 'cloud-processor' AND instance = 'processor-1'`);
    expect(report?.slice(1)).toEqual([1, 0, 0]);
  });

  it('reports not ready when no model is loaded', async () => {
    const t = await startTestbed();
    const scorer = new ScriptedScorer();
    scorer.loaded = () => [];
    const processor = await t.start({}, { scorer });
    const ready = await fetch(`http://127.0.0.1:${processor.httpPort}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/no model loaded/);
  });
});

describe('InfluxDB outage', () => {
  it('nacks while InfluxDB is down (no dead letter), and writes the window once after it is back', async () => {
    const dataDir = makeTestDataDir('influx-outage');
    let influx = await startInflux({ dataDir });
    const t = await startProcessorTestbed(influx, { pubsub: { maxAttempts: 2, transientBackoff: { initialMs: 5, maxMs: 20 } } });
    try {
      const processor = await t.start({}, { scorer: new ScriptedScorer() });
      await influx.stop();
      await t.bed.publishWindow(makeWindow());
      // More failures than maxAttempts: outages must not dead-letter.
      await until(() => t.bed.stats().nacked >= 3, 'nacks while InfluxDB is down', 15_000);
      expect(t.bed.stats().acked).toBe(0);
      influx = await startInflux({ dataDir, port: influx.port });
      await until(() => t.bed.stats().acked === 1, 'ack once InfluxDB is back', 20_000);
      expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(SENSORS.length);
      expect(t.bed.deadLetters.messages).toHaveLength(0);
      expect(await processor.metrics.value('pdm_processor_dead_letters_total')).toBe(0);
    } finally {
      await t.close();
      await influx.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
