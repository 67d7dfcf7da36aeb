// InfluxDB stopped for a while under load, then started again on the same port with the same data
// folder. Expected windows: computed from the readings the simulator sent (no part that windows
// readings fails, so every window the readings fall into must arrive).
//
// The processor acks a message only after its InfluxDB write succeeded, so while InfluxDB is down
// it nacks (never dead-letters) and the subscription holds the backlog. "Duplicated" here: a
// second point for a window in InfluxDB (never allowed), or a window the processor acked twice
// (not allowed either: the emulator's manual clock never expires a lease, so nothing it acked can
// come back) — nacked attempts write nothing that stays unacked.
import { join } from 'node:path';
import type { RunningProcessor } from '@pdm/cloud-processor';
import type { RunningGateway } from '@pdm/edge-gateway';
import { startInflux } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEventuallyExactlyOnce } from './support/exactly-once.js';
import { startFleet } from './support/fleet.js';
import { eventually } from './support/poll.js';
import { FEATURES_TOPIC, gatewayDrained, startGatewayHere, startProcessorHere, subscriptionStats, windowsAcked, windowsPublished } from './support/services.js';
import { useFaultSuite } from './support/suite.js';

async function readiness(httpPort: number): Promise<{ status: number; influxdb: string | undefined }> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { details?: { influxdb?: { status?: string } } };
  return { status: response.status, influxdb: body.details?.influxdb?.status };
}

describe('InfluxDB stopped for a while under load', () => {
  const suite = useFaultSuite('faults-influx');
  let processor: RunningProcessor;
  let gateway: RunningGateway;

  beforeAll(async () => {
    processor = await startProcessorHere(suite.processorConfig());
    gateway = await startGatewayHere(suite.gatewayConfig());
  });

  afterAll(async () => {
    await gateway?.stop();
    await processor?.stop();
  });

  const subscription = () => subscriptionStats(suite.pubsub.emulator);
  /** Feature messages nacked (the gateway sends no health reports here). */
  const nacked = () => processor.metrics.value('pdm_processor_messages_total', { outcome: 'nacked' });
  /** Windows published and not acked yet: held by Pub/Sub (or leased by the processor). */
  const windowsHeld = async () => (await windowsPublished(gateway)) - (await windowsAcked(processor));

  it('nacks while InfluxDB is down, then writes every window exactly once when it is back', async () => {
    const fleet = startFleet(gateway.mqttPort, join(suite.dir, 'sent'));
    await eventually(async () => (await windowsAcked(processor)) >= 100, 'the first 100 windows written', 60_000);
    expect((await readiness(processor.httpPort)).status).toBe(200);

    await suite.influx.stop();
    await eventually(async () => (await nacked()) >= 50, 'the processor to nack 50 messages', 60_000);
    expect(await readiness(processor.httpPort)).toEqual({ status: 503, influxdb: 'down' });
    // The backlog waits on the subscription, not in the processor.
    await eventually(async () => (await windowsHeld()) >= 300, '300 windows held by Pub/Sub while InfluxDB is down', 120_000);
    expect(subscription().backlog).toBeGreaterThan(0);
    const ackedWhileDown = await windowsAcked(processor);

    suite.influx = await startInflux({ dataDir: suite.influxDir, port: suite.influx.port });
    await eventually(async () => (await windowsHeld()) < 60, 'the backlog to drain under load', 120_000);
    expect(await readiness(processor.httpPort)).toEqual({ status: 200, influxdb: 'up' });
    const expected = await fleet.stop();
    await eventually(() => gatewayDrained(gateway.httpPort), 'the last windows closed and published', 60_000);

    expect(expected.windows.size).toBeGreaterThanOrEqual(400);
    // Includes the windows written before the stop: they survived InfluxDB's restart.
    await expectEventuallyExactlyOnce(suite.influx, expected, suite.contract, 60_000);

    await until(() => subscription().backlog === 0, 'an empty subscription', 30_000);
    const messages = suite.pubsub.emulator.stats().topics[FEATURES_TOPIC]?.published ?? 0;
    const published = await windowsPublished(gateway);
    const accounting = { windows: expected.windows.size, published, messages, ackedWhileDown, acked: await windowsAcked(processor), nacked: await nacked(), pubsub: subscription() };
    console.log('InfluxDB outage:', accounting);
    expect(published).toBe(expected.windows.size);
    expect(accounting.acked).toBe(expected.windows.size); // each window written and acked exactly once
    expect(accounting.pubsub.acked).toBe(messages); // each message (of one or more windows) acked once
    expect(accounting.pubsub.deadLettered).toBe(0);
    expect(await processor.metrics.value('pdm_processor_dead_letters_total')).toBe(0);
  });
});
