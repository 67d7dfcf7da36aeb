// Pub/Sub unavailable for a while under load. The emulator runs as its own process with a data
// folder; the test stops it (SIGTERM, as an operator or an orchestrator would) while a fleet keeps
// sending, and starts it again on the same port with the same state. Expected windows: computed
// from the readings the simulator sent (its CSV record of every tick it published).
//
// What "duplicated" means here, and what is asserted:
//   - In InfluxDB: a second point for a (machine, window_start[, sensor]) — never allowed.
//   - At the processor: a window written (and acked) more than once. Pub/Sub is at-least-once, so
//     this is allowed, but only where Pub/Sub explains it, window by window (support/writes.ts):
//     the processor's extra writes are exactly the windows the gateway published again (a publish
//     cut by the outage), read off a tap subscription that sees every message published, and the
//     windows of the messages Pub/Sub delivered again (an ack lost in the outage): those its first
//     life held at the stop after delivering them, read from the snapshot it wrote then.
import { join } from 'node:path';
import type { RunningProcessor } from '@pdm/cloud-processor';
import { connectPubSub, windowsOfMessage, type RunningGateway } from '@pdm/edge-gateway';
import { freePort, type RunningInflux } from '@pdm/influx-harness';
import { Collector, PROJECT, until } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldAtStop } from './support/emulator-snapshot.js';
import { expectEventuallyExactlyOnce } from './support/exactly-once.js';
import { startFleet } from './support/fleet.js';
import type { PdmProcess } from '../processes/pdm-process.js';
import { eventually } from './support/poll.js';
import {
  FEATURES_TOPIC,
  SUBSCRIPTION,
  emulatorStats,
  gatewayDrained,
  startEmulatorProcess,
  startGatewayHere,
  startProcessorHere,
  statsAtStop,
  windowsAcked,
  windowsOfMessages,
  windowsReceived,
} from './support/services.js';
import { useFaultSuite } from './support/suite.js';
import { difference } from './support/windows.js';
import { expectEveryWriteExplained, publishedWindows } from './support/writes.js';

/** The suite's windows are 1 s: 10 s means, so that the outage's windows reach them after the CQ's last read. */
const DOWNSAMPLE = '10s';
const DOWNSAMPLE_MS = 10_000;

/** Stored 10 s means per machine, sensor and interval (`mean_mean`), and the same computed now from the raw windows. */
async function downsampledAndRaw(influx: RunningInflux, beforeMs: number): Promise<{ stored: Map<string, number>; fromRaw: Map<string, number> }> {
  const byKey = async (statement: string) => {
    const series = (await influx.query(statement, 'pdm')).results[0]?.series ?? [];
    return new Map(series.flatMap((s) => s.values.map(([time, value]) => [`${s.tags?.machine}/${s.tags?.sensor}@${String(time)}`, Number(value)] as const)));
  };
  return {
    stored: await byKey(`SELECT mean_mean FROM "downsampled"."sensor_features_${DOWNSAMPLE}" WHERE time < ${beforeMs}ms GROUP BY *`),
    fromRaw: await byKey(`SELECT mean(mean) FROM "raw"."sensor_features" WHERE time < ${beforeMs}ms GROUP BY time(${DOWNSAMPLE}), * fill(none)`),
  };
}

describe('Pub/Sub unavailable for a while under load', () => {
  const suite = useFaultSuite('faults-pubsub', { ownEmulator: true });
  const emulatorDir = join(suite.dir, 'pubsub');
  let emulator: PdmProcess;
  let processor: RunningProcessor;
  let tap: Collector;
  let gateway: RunningGateway;
  let port: number;
  let adminPort: number;

  beforeAll(async () => {
    [port, adminPort] = [await freePort(), await freePort()];
    emulator = await startEmulatorProcess({ port, adminPort, dataDir: emulatorDir });
    const emulatorHost = `127.0.0.1:${port}`;
    const config = suite.processorConfig({ emulatorHost });
    processor = await startProcessorHere({ ...config, influx: { ...config.influx, downsampleIntervals: [DOWNSAMPLE] } });
    // Everything the gateway publishes, in both of the emulator's lives, also reaches this subscription.
    const client = await connectPubSub({ projectId: PROJECT, emulatorHost });
    const [subscription] = await client.topic(FEATURES_TOPIC).createSubscription('faults-tap', { enableMessageOrdering: true });
    tap = new Collector(subscription);
    gateway = await startGatewayHere(suite.gatewayConfig({ emulatorHost }));
  });

  afterAll(async () => {
    await gateway?.stop();
    await tap?.subscription.close();
    await processor?.stop();
    await emulator?.stop();
  });

  it('loses no window and duplicates none in InfluxDB; the outbox grows during the outage and drains after', async () => {
    const fleet = startFleet(gateway.mqttPort, join(suite.dir, 'sent'));
    await eventually(async () => (await windowsAcked(processor)) >= 100, 'the first 100 windows written', 60_000);

    // Outage: the emulator process stops; the fleet keeps sending.
    const depthBefore = gateway.outbox.stats().depth;
    expect(await emulator.stop()).toBe(0);
    const firstLife = statsAtStop(emulator);
    // Delivered and not acked when it stopped: its next life delivers these again.
    const deliveredAgain = heldAtStop(emulatorDir, SUBSCRIPTION).filter((m) => m.attempts > 0);
    // Long enough that windows of the outage are stored after influxd's last read of their 10 s means.
    await until(() => gateway.outbox.stats().depth >= depthBefore + 600, 'the outbox to grow by 600 windows (~20 s of the fleet)', 120_000);
    const depthDuringOutage = gateway.outbox.stats().depth;
    expect(depthDuringOutage).toBeGreaterThanOrEqual(depthBefore + 600);

    emulator = await startEmulatorProcess({ port, adminPort, dataDir: emulatorDir });
    // Back under load: the backlog drains while new windows keep coming.
    await until(() => gateway.outbox.stats().depth < 60, 'the outbox backlog to drain under load', 120_000);
    const expected = await fleet.stop();
    await eventually(() => gatewayDrained(gateway.httpPort), 'the last windows closed and published', 60_000);

    expect(expected.windows.size).toBeGreaterThanOrEqual(400);
    await expectEventuallyExactlyOnce(suite.influx, expected, suite.contract, 60_000);

    // Every message handled: nothing left on the subscription, nothing dead-lettered or dropped.
    await eventually(async () => (await emulatorStats(adminPort)).subscriptions[SUBSCRIPTION]?.backlog === 0, 'an empty subscription', 30_000);
    const secondLife = await emulatorStats(adminPort);
    expect(await processor.metrics.value('pdm_processor_dead_letters_total')).toBe(0);
    expect(await gateway.metrics.outboxDropped.get().then((m) => m.values.reduce((sum, v) => sum + v.value, 0))).toBe(0);

    // Extra writes at the processor are exactly those Pub/Sub's at-least-once delivery explains.
    const lives = [firstLife, secondLife];
    const messages = lives.reduce((sum, life) => sum + (life.topics[FEATURES_TOPIC]?.published ?? 0), 0);
    await eventually(() => tap.messages.length >= messages, 'the tap to receive every published message', 60_000);
    const { keys, ...published } = publishedWindows(windowsOfMessages(tap.messages));
    expect(difference(keys, expected.windows)).toEqual([]);
    // Every message delivered again was one the first life held at its stop (none failed in a life).
    const redelivered = lives.map((life) => life.subscriptions[SUBSCRIPTION]?.redelivered ?? 0);
    expect(redelivered).toEqual([0, deliveredAgain.length]);
    const redeliveredWindows = deliveredAgain.reduce((n, m) => n + windowsOfMessage(m).length, 0);
    const writes = { windows: expected.windows.size, ...published, redeliveredWindows, received: await windowsReceived(processor), acked: await windowsAcked(processor) };
    // Deliveries as Pub/Sub counts them beside the messages the processor settled: apart only if a
    // delivery was cut in transit by the stop (then received falls short of the windows delivered).
    const deliveries = lives.reduce((sum, life) => sum + (life.subscriptions[SUBSCRIPTION]?.delivered ?? 0), 0);
    const settled = await processor.metrics.value('pdm_processor_messages_total');
    console.log('Pub/Sub outage:', { depthBefore, depthDuringOutage, messages, redeliveredMessages: deliveredAgain.length, deliveries, settled, ...writes });
    expectEveryWriteExplained(writes);

    // The downsampled means hold every window, those the outage delayed past influxd's continuous
    // query included: the processor computes those intervals again (at its stop at the latest).
    await processor.stop();
    const backfills = await processor.metrics.value('pdm_processor_downsample_backfills_total');
    const final = Math.floor((Date.now() - 3 * DOWNSAMPLE_MS) / DOWNSAMPLE_MS) * DOWNSAMPLE_MS; // the CQ's last read of older intervals is done
    const { stored, fromRaw } = await downsampledAndRaw(suite.influx, final);
    console.log('Pub/Sub outage, downsampled:', { backfills, intervals: fromRaw.size, stored: stored.size });
    expect(backfills).toBeGreaterThan(0);
    expect(fromRaw.size).toBeGreaterThan(100);
    expect([...fromRaw.keys()].filter((key) => !stored.has(key))).toEqual([]);
    const differing = [...fromRaw].filter(([key, mean]) => Math.abs((stored.get(key) ?? NaN) - mean) > 1e-9 * Math.max(1, Math.abs(mean)));
    expect(differing.slice(0, 5)).toEqual([]);
  });
});
