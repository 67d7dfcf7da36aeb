// Sensors whose clocks are off, under load. Three pumps of the fleet carry a device whose clock is
// wrong (the simulator's chaos.sensorClockSkewMs): pump-01's pressure sensor runs 30 s ahead,
// pump-02's bearing temperature 20 s behind, and pump-03 has both (50 s apart, within
// windows.maxSensorLagMs, 60 s). Each sensor keeps its own event time: the sensor ahead leads its
// machine and closes its windows first, the others still fill them, and each window then goes out
// again as revision + 1 — none of their readings is late. Expected windows and content: what the
// simulator sent, each reading in the window of the timestamp it was sent with.
import { join } from 'node:path';
import type { RunningProcessor } from '@pdm/cloud-processor';
import type { RunningGateway } from '@pdm/edge-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMetric } from '../prometheus-text.js';
import { takeCensus } from './support/census.js';
import { expectEventuallyExactlyOnce } from './support/exactly-once.js';
import { startFleet } from './support/fleet.js';
import { eventually } from './support/poll.js';
import { gatewayDrained, startGatewayHere, startProcessorHere } from './support/services.js';
import { useFaultSuite } from './support/suite.js';
import { parseWindowKey } from './support/windows.js';

const AHEAD_MS = 30_000;
const BEHIND_MS = -20_000;
const SKEW = {
  'pump-01': { pressure: AHEAD_MS },
  'pump-02': { bearing_temp: BEHIND_MS },
  'pump-03': { pressure: AHEAD_MS, bearing_temp: BEHIND_MS },
};
/** Event time the fleet runs for: twice the spread of pump-03's clocks, so most windows are revised while it runs. */
const RUN_MS = 2 * (AHEAD_MS - BEHIND_MS);

describe('sensors with skewed clocks', () => {
  const suite = useFaultSuite('faults-skew');
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

  it('counts no reading late, and every window holds each sensor’s readings as sent', async () => {
    const started = Date.now();
    const fleet = startFleet(gateway.mqttPort, join(suite.dir, 'sent'), { sensorClockSkewMs: SKEW });
    await eventually(() => fleet.virtualTs() >= started + RUN_MS, `${RUN_MS / 1_000} s of the fleet`, 2 * RUN_MS);
    const sent = await fleet.stop();
    await eventually(() => gatewayDrained(gateway.httpPort), 'the last windows closed and published', 60_000);

    // The machines' on-time sensors, and the sensor behind, trail a sensor ahead: none of their readings is late.
    const gatewayMetric = (name: string, labels?: Record<string, string>) => readMetric(gateway.httpPort, name, labels);
    expect(await gatewayMetric('pdm_gateway_late_readings_total')).toBe(0);
    expect(await gatewayMetric('pdm_gateway_outbox_dropped_total')).toBe(0);
    // The trailing sensors filled windows their machine's leader had closed: those went out again.
    const revised = await gatewayMetric('pdm_gateway_windows_emitted_total', { close_reason: 'late_revision' });
    expect(revised).toBeGreaterThan(0);

    // Every window at its newest revision: each sensor's count exact, mean and variance as sent.
    await expectEventuallyExactlyOnce(suite.influx, sent, suite.contract, 60_000);

    // The skewed sensors' readings lie where their clocks put them: their windows reach further
    // ahead (or start further back) than their machine's on-time sensor's, by the skew.
    const census = await takeCensus(suite.influx);
    const starts = (machine: string, sensor: string) =>
      [...census.features].filter(([key, sensors]) => parseWindowKey(key).machine === machine && sensors.has(sensor)).map(([key]) => parseWindowKey(key).windowStart);
    const reach = (machine: string, sensor: string) => {
      const own = starts(machine, sensor);
      const onTime = starts(machine, 'current');
      return { ahead: Math.max(...own) - Math.max(...onTime), behind: Math.min(...own) - Math.min(...onTime) };
    };
    for (const [machine, sensors] of Object.entries(SKEW)) {
      for (const [sensor, skew] of Object.entries(sensors)) {
        const { ahead, behind } = reach(machine, sensor);
        expect(skew > 0 ? ahead : behind, `${machine}/${sensor}`).toBe(skew);
      }
    }
    console.log('skewed clocks:', { windows: sent.windows.size, revised, realMs: Date.now() - started });
  });
});
