// End to end with every real part: a simulated fleet publishes over MQTT to an edge gateway, which
// forwards feature messages through the Pub/Sub emulator to the cloud processor, which scores them
// and writes InfluxDB. An injected fault must be detected and alerted, and the features stored in
// InfluxDB must equal those computed offline (pdm replay) from the same readings.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_MACHINES, DEMO_SEED, DEMO_TICK_MS, DEMO_VIBRATION_HZ, trainDemoModel } from '@pdm/cli/demo';
import { processorConfigSchema, startProcessor, type RunningProcessor } from '@pdm/cloud-processor';
import { gatewayConfigSchema, replayCsv, startGateway, type RunningGateway } from '@pdm/edge-gateway';
import { makeTestDataDir, startTestInflux, type RunningInflux } from '@pdm/influx-harness';
import { AlertSchema, AlertState, fromBinary, type MachineWindow } from '@pdm/proto';
import { Collector, PROJECT, startTestEmulator, type TestEmulator } from '@pdm/pubsub-emulator/testing';
import { LOW_RATE_SENSORS, noChaos, runSimulation, scheduleFaults } from '@pdm/simulator';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const silent = pino({ level: 'silent' });
const MINUTE = 60_000;

interface Row {
  time: number;
  machine: string;
  sensor?: string;
  [field: string]: unknown;
}

async function select(influx: RunningInflux, q: string): Promise<Row[]> {
  const response = await influx.query(q, 'pdm');
  return (response.results[0]?.series ?? []).flatMap((series) =>
    series.values.map((values) => ({ ...series.tags, ...Object.fromEntries(series.columns.map((c, i) => [c, values[i]])) }) as Row),
  );
}

describe('the whole pipeline, simulator to InfluxDB', () => {
  const dir = makeTestDataDir('e2e');
  let influx: RunningInflux;
  let pubsub: TestEmulator;
  let processor: RunningProcessor;
  let gateway: RunningGateway;
  let alerts: Collector;

  beforeAll(async () => {
    influx = await startTestInflux();
    pubsub = await startTestEmulator();
    const registryDir = join(dir, 'models');
    await trainDemoModel(registryDir, () => {});
    processor = await startProcessor(
      processorConfigSchema.parse({
        pubsub: { projectId: PROJECT, emulatorHost: pubsub.emulator.endpoint, createResources: true },
        influx: { url: influx.url, batchMaxDelayMs: 20 },
        model: { registryDir },
        http: { host: '127.0.0.1', port: 0 },
        pipelineReportIntervalMs: 0,
        log: { level: 'silent' },
      }),
      { logger: silent },
    );
    const client = pubsub.client();
    const [subscription] = await client.topic('pdm-alerts').createSubscription('e2e-alerts');
    alerts = new Collector(client.subscription(subscription.name));
    gateway = await startGateway(
      gatewayConfigSchema.parse({
        gatewayId: 'e2e-gateway',
        siteId: 'e2e-site',
        mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true },
        http: { host: '127.0.0.1', port: 0 },
        outbox: { path: join(dir, 'outbox.sqlite') },
        pubsub: { projectId: PROJECT, topic: 'pdm-features', emulatorHost: pubsub.emulator.endpoint, batchMaxMilliseconds: 5 },
        log: { level: 'silent' },
      }),
      { logger: silent },
    );
  }, 180_000);

  afterAll(async () => {
    await gateway?.stop();
    await processor?.stop();
    await alerts?.subscription.close();
    await pubsub?.close();
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('detects and alerts an injected fault, and stores exactly the features an offline replay computes', async () => {
    // 30 minutes of virtual time ending now, as fast as the machine allows; pump-3 goes out of
    // balance at minute 10.
    const startMs = Math.floor((Date.now() - 35 * MINUTE) / 10_000) * 10_000;
    const durationMs = 30 * MINUTE;
    const faultOnset = startMs + 10 * MINUTE;
    const csvDir = join(dir, 'csv');
    await runSimulation({
      seed: DEMO_SEED,
      startMs,
      durationMs,
      tickMs: DEMO_TICK_MS,
      vibrationHz: DEMO_VIBRATION_HZ,
      machines: DEMO_MACHINES,
      faults: scheduleFaults({
        seed: DEMO_SEED,
        startMs,
        durationMs,
        tickMs: DEMO_TICK_MS,
        repairMs: 2 * 3_600_000,
        machines: DEMO_MACHINES,
        explicit: [{ machine: 'pump-3', fault: 'imbalance', onset: faultOnset, failure: startMs + 40 * MINUTE }],
      }),
      chaos: noChaos(),
      mqtt: { urls: [`mqtt://127.0.0.1:${gateway.mqttPort}`], qos: 1, format: 'batch' },
      outDir: csvDir,
      speed: Infinity,
      rate: Infinity,
    });
    // Close the trailing windows as a stop would, then wait for every window to reach InfluxDB.
    gateway.engine.flush();
    gateway.tick();
    const emitted = async () => (await gateway.metrics.windows.get()).values.reduce((sum, v) => sum + v.value, 0);
    const expectedWindows = await emitted();
    expect(expectedWindows).toBeGreaterThanOrEqual(4 * 180);
    let stored: Row[] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      stored = await select(influx, `SELECT * FROM sensor_features WHERE sensor = 'current' GROUP BY machine`);
      if (stored.length >= expectedWindows) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(stored.length).toBe(expectedWindows);

    // Detection: pump-3 is anomalous after the onset, the healthy pumps are not, and an alert opened.
    const scores = await select(influx, 'SELECT score, threshold, is_anomaly FROM anomaly GROUP BY machine');
    const afterOnset = scores.filter((r) => r.machine === 'pump-3' && r.time >= faultOnset + MINUTE);
    const healthy = scores.filter((r) => r.machine !== 'pump-3');
    expect(afterOnset.length).toBeGreaterThan(100);
    expect(afterOnset.filter((r) => r.is_anomaly === true).length).toBeGreaterThanOrEqual(0.9 * afterOnset.length);
    expect(healthy.filter((r) => r.is_anomaly === true).length).toBeLessThanOrEqual(0.02 * healthy.length);
    await alerts.waitFor(1, 20_000);
    const opened = alerts.messages.map((m) => fromBinary(AlertSchema, m.data)).filter((a) => a.state === AlertState.OPEN);
    expect(opened.map((a) => a.machineId)).toContain('pump-3');
    const alertRows = await select(influx, "SELECT score FROM alerts WHERE state = 'open' GROUP BY machine");
    expect(alertRows.map((r) => r.machine)).toContain('pump-3');

    // Training/serving consistency: the offline replay of the same readings gives the same features.
    const offline: MachineWindow[] = [];
    await replayCsv(join(csvDir, 'pump-1.csv'), { machineId: 'pump-1' }, { onWindow: (w) => void offline.push(w) });
    const live = new Map((await select(influx, "SELECT * FROM sensor_features WHERE machine = 'pump-1' GROUP BY sensor")).map((r) => [`${r.time}/${r.sensor}`, r]));
    let compared = 0;
    for (const w of offline) {
      for (const s of w.sensors.filter((s) => (LOW_RATE_SENSORS as readonly string[]).includes(s.sensorId))) {
        const row = live.get(`${Number(w.windowStart)}/${s.sensorId}`);
        if (!row || s.count !== 10) continue; // partial windows at the edges of the run differ by design
        expect(row.count).toBe(s.count);
        expect(row.mean as number).toBeCloseTo(s.mean, 9);
        expect(row.std as number).toBeCloseTo(s.std, 9);
        expect([row.min, row.max]).toEqual([s.min, s.max]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(LOW_RATE_SENSORS.length * 150);
  }, 240_000);
});
