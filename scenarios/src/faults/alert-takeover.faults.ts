// Two processors share the subscription; one is killed with SIGKILL while an anomaly episode is open.
// The fleet runs with an imbalance injected on one pump for FAULT_MS (the simulator's fault: the 1×
// shaft vibration steps up at onset, and the pump is healthy again when it ends), which the fault
// model flags. Both processors run as `pdm processor` processes on the in-process emulator (manual
// clock): after the kill the test moves that clock past every ack deadline so the dead processor's
// messages go to the survivor. The alert state lives in InfluxDB, not in either process, so the
// episode must open exactly one alert and resolve it exactly once, whoever saw which window; a
// delivery the dead processor left pending is taken over (alerts.delivery.takeoverAfterMs, short
// here). Expected windows and their content: what the simulator sent, as in every fault test.
import { join } from 'node:path';
import type { RunningGateway } from '@pdm/edge-gateway';
import type { RunningInflux } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import type { FaultPlan } from '@pdm/simulator';
import { afterAll, describe, expect, it } from 'vitest';
import { expectEventuallyExactlyOnce } from './support/exactly-once.js';
import { startFleet } from './support/fleet.js';
import { FLEET } from './support/fleet-shape.js';
import type { PdmProcess } from '../processes/pdm-process.js';
import { eventually } from './support/poll.js';
import { gatewayDrained, startGatewayHere, startProcessorProcess, subscriptionStats, writeConfigFile } from './support/services.js';
import { useFaultSuite } from './support/suite.js';

/** Longer than any ack deadline the service allows (600 s). */
const PAST_EVERY_ACK_DEADLINE_MS = 601_000;
const FAULTY = FLEET[6]?.id ?? 'pump-07';
/** Event time after the fleet starts when the imbalance sets in, and how long it lasts. */
const ONSET_MS = 15_000;
const FAULT_MS = 25_000;

interface AlertPoint {
  alertId: string;
  state: string;
  /** The end of the window that caused the transition. */
  time: number;
}

/** A machine's `alerts` points, every one of them (one per transition written). */
async function alertsOf(influx: RunningInflux, machine: string): Promise<AlertPoint[]> {
  const response = await influx.query(`SELECT "alert_id" FROM "alerts" WHERE "machine" = '${machine}' GROUP BY "state"`, 'pdm');
  return (response.results[0]?.series ?? []).flatMap((series) =>
    series.values.map((values) => ({ alertId: String(values[series.columns.indexOf('alert_id')]), state: series.tags?.['state'] ?? '', time: Number(values[0]) })),
  );
}

const states = (alerts: AlertPoint[], state: string) => alerts.filter((a) => a.state === state);

async function anomalousWindows(influx: RunningInflux, machine: string): Promise<number> {
  const response = await influx.query(`SELECT "score" FROM "anomaly" WHERE "machine" = '${machine}' AND "is_anomaly" = true`, 'pdm');
  return response.results[0]?.series?.[0]?.values.length ?? 0;
}

describe('two processors share the subscription; one is killed with SIGKILL during an anomaly episode', () => {
  const suite = useFaultSuite('faults-alerts');
  let gateway: RunningGateway;
  const processors: PdmProcess[] = [];

  afterAll(async () => {
    await gateway?.stop();
    for (const p of processors) await p.stop();
  });

  it('opens exactly one alert for the episode and resolves it exactly once', async () => {
    const { dir, pubsub } = suite;
    const startProcessor = async (instanceId: string) => {
      const config = {
        ...suite.processorConfig({ instanceId }),
        // A delivery the dead processor left pending is taken over within seconds, not minutes (a publish
        // may not take as long: publishTimeoutMs below takeoverAfterMs, checked at start).
        alerts: { delivery: { takeoverAfterMs: 5_000, sweepIntervalMs: 500, backoff: { initialMs: 50, maxMs: 1_000 }, publishTimeoutMs: 2_000 } },
      };
      const started = await startProcessorProcess(writeConfigFile(dir, instanceId, config));
      processors.push(started.process);
      return started.process;
    };
    const doomed = await startProcessor('faults-alerts-1');
    await startProcessor('faults-alerts-2');
    gateway = await startGatewayHere(suite.gatewayConfig());
    const startMs = Math.floor(Date.now() / 1_000) * 1_000;
    const fault: FaultPlan = { machine: FAULTY, fault: 'imbalance', onset: startMs + ONSET_MS, failure: startMs + ONSET_MS + FAULT_MS, recovered: startMs + ONSET_MS + FAULT_MS, sensors: ['vibration'] };
    const fleet = startFleet(gateway.mqttPort, join(dir, 'sent'), { faults: [fault], startMs });

    // The episode opens; the processor that may hold its windows dies.
    await eventually(async () => states(await alertsOf(suite.influx, FAULTY), 'open').length > 0, `an alert opened for ${FAULTY}`, 90_000, 250);
    // Well inside the episode, so that the kill meets an open one (otherwise the pipeline lagged the
    // fleet by more than 15 s: the test proves nothing then, and says so).
    const seenOpenSinceOnsetMs = fleet.virtualTs() - fault.onset;
    expect(seenOpenSinceOnsetMs, 'event time the fleet had reached when the open alert was seen, after the onset').toBeLessThan(FAULT_MS - 5_000);
    await until(() => subscriptionStats(pubsub.emulator).outstanding >= 1, 'the processors to hold unacked messages', 30_000);
    await doomed.kill();
    const held = subscriptionStats(pubsub.emulator).outstanding;
    pubsub.clock.advance(PAST_EVERY_ACK_DEADLINE_MS);

    await eventually(async () => states(await alertsOf(suite.influx, FAULTY), 'resolved').length > 0, `the alert of ${FAULTY} resolved`, 90_000, 250);
    expect(fleet.virtualTs()).toBeGreaterThanOrEqual(fault.failure);
    const sent = await fleet.stop();
    await eventually(() => gatewayDrained(gateway.httpPort), 'the last windows closed and published', 60_000);
    await until(() => subscriptionStats(pubsub.emulator).backlog === 0, 'an empty subscription', 60_000);
    await expectEventuallyExactlyOnce(suite.influx, sent, suite.contract, 60_000);

    const alerts = await alertsOf(suite.influx, FAULTY);
    const opened = states(alerts, 'open');
    const resolved = states(alerts, 'resolved');
    const accounting = {
      machine: FAULTY,
      anomalousWindows: await anomalousWindows(suite.influx, FAULTY),
      seenOpenSinceOnsetMs,
      heldAtKill: held,
      alerts: alerts.map((a) => ({ ...a, sinceOnsetMs: a.time - fault.onset })),
      subscription: subscriptionStats(pubsub.emulator),
    };
    console.log('alert takeover:', accounting);
    expect(accounting.anomalousWindows).toBeGreaterThanOrEqual(5);
    // One point per transition (nobody wrote one twice), both of one episode, in the fault's time.
    expect(alerts).toHaveLength(2);
    expect(opened).toHaveLength(1);
    expect(resolved).toHaveLength(1);
    expect(resolved[0]?.alertId).toBe(opened[0]?.alertId);
    expect(opened[0]?.time).toBeGreaterThan(fault.onset);
    expect(opened[0]?.time).toBeLessThan(fault.failure);
    expect(resolved[0]?.time).toBeGreaterThan(fault.failure);
  });
});
