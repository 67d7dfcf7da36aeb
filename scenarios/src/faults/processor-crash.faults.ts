// Processor killed with SIGKILL under load. Processors run as `pdm processor` processes; the first
// is killed while it holds messages it has not acked, and a second one takes over the
// subscription. The emulator runs on a manual clock: after the kill the test moves it past every
// ack deadline, as time would on the real service, so the dead processor's messages are
// redelivered. Expected windows: computed from the readings the simulator sent (the gateway does
// not fail here, so every window the readings fall into must arrive).
//
// "Duplicated" here: in InfluxDB, a second point for a window (never allowed). At Pub/Sub: a
// message delivered again — allowed only for the messages the dead processor held (whether or not
// it had written them: a rewrite overwrites the same point); every message is acked exactly once.
import { join } from 'node:path';
import type { RunningGateway } from '@pdm/edge-gateway';
import { until } from '@pdm/pubsub-emulator/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { expectEventuallyExactlyOnce } from './support/exactly-once.js';
import { startFleet } from './support/fleet.js';
import { readMetric } from '../prometheus-text.js';
import type { PdmProcess } from '../processes/pdm-process.js';
import { eventually } from './support/poll.js';
import { FEATURES_TOPIC, subscriptionStats, gatewayDrained, startGatewayHere, startProcessorProcess, windowsPublished, writeConfigFile } from './support/services.js';
import { useFaultSuite } from './support/suite.js';

/** Longer than any ack deadline the service allows (600 s). */
const PAST_EVERY_ACK_DEADLINE_MS = 601_000;

describe('processor killed with SIGKILL under load', () => {
  const suite = useFaultSuite('faults-processor');
  let gateway: RunningGateway;
  let processor: PdmProcess | undefined;

  afterAll(async () => {
    await processor?.stop();
    await gateway?.stop();
  });

  const subscription = () => subscriptionStats(suite.pubsub.emulator);

  it('redelivers what the killed processor held; every window reaches InfluxDB exactly once', async () => {
    const { dir, pubsub } = suite;
    const startProcessor = (instanceId: string) => startProcessorProcess(writeConfigFile(dir, instanceId, suite.processorConfig({ instanceId })));
    const first = await startProcessor('faults-processor-1');
    processor = first.process;
    gateway = await startGatewayHere(suite.gatewayConfig());
    const fleet = startFleet(gateway.mqttPort, join(dir, 'sent'));
    const acked = () => readMetric(first.httpPort, 'pdm_processor_windows_acked_total');
    await eventually(async () => (await acked()) >= 100, 'the first 100 windows written', 60_000);

    // Kill it while it holds leased, unacked messages.
    await until(() => subscription().outstanding >= 5, 'the processor to hold at least 5 unacked messages', 30_000);
    await processor.kill();
    const heldAtKill = subscription().outstanding;
    const publishedAtKill = await windowsPublished(gateway);
    // Nobody processes now: the fleet's windows queue up on the subscription.
    await eventually(async () => (await windowsPublished(gateway)) >= publishedAtKill + 200, '200 windows queued while no processor runs', 60_000);
    const beforeExpiry = subscription();
    pubsub.clock.advance(PAST_EVERY_ACK_DEADLINE_MS);
    expect(subscription().expired - beforeExpiry.expired).toBe(heldAtKill);

    processor = (await startProcessor('faults-processor-2')).process;
    // Caught up: about two seconds of the fleet's messages left (batches of several windows each).
    await until(() => subscription().backlog < 16, 'the second processor to catch up under load', 120_000);
    const expected = await fleet.stop();
    await eventually(() => gatewayDrained(gateway.httpPort), 'the last windows closed and published', 60_000);

    expect(expected.windows.size).toBeGreaterThanOrEqual(300);
    await expectEventuallyExactlyOnce(suite.influx, expected, suite.contract, 60_000);

    await until(() => subscription().backlog === 0, 'an empty subscription', 30_000);
    const messages = pubsub.emulator.stats().topics[FEATURES_TOPIC]?.published ?? 0;
    const published = await windowsPublished(gateway);
    const final = subscription();
    console.log('processor SIGKILL:', { windows: expected.windows.size, heldAtKill, published, messages, acked: final.acked, redelivered: final.redelivered, nacked: final.nacked, deadLettered: final.deadLettered });
    expect(published).toBe(expected.windows.size); // the gateway published every window once
    expect(final.acked).toBe(messages); // and each message (of one or more windows) was acked once
    expect(final.redelivered).toBe(heldAtKill + final.nacked); // delivered again: only the dead processor's, and any nacked
    expect(final.deadLettered).toBe(0);
  });
});
