// The health report on a manual clock: it says what the gateway's /metrics says, reports publish
// latency per interval, keeps going when a publish fails, and stops when told.
import { ManualClock } from '@pdm/clock';
import { GatewayHealthSchema, fromBinary, type GatewayHealth } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics, type LiveState } from '../ops/metrics.js';
import { HealthReporter } from './health-reporter.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const ATTRIBUTES = { schema: 'pdm.v1.GatewayHealth', gateway: 'gw-7', site: 'plant-7' };

/** Records what would go to Pub/Sub; `failNext` makes the next publish reject. */
class FakeTopic {
  readonly sent: { data: Buffer; attributes: Record<string, string> }[] = [];
  failNext = false;
  publishMessage(message: { data?: Buffer | null; attributes?: Record<string, string> | null }): Promise<string> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('UNAVAILABLE'));
    }
    this.sent.push({ data: message.data!, attributes: message.attributes! });
    return Promise.resolve(String(this.sent.length));
  }
  reports(): GatewayHealth[] {
    return this.sent.map((m) => fromBinary(GatewayHealthSchema, m.data));
  }
}

const live: LiveState = {
  openWindows: () => 12,
  openWindowBytes: () => 4096,
  lateReadings: () => 5,
  outbox: () => ({ depth: 3, bytes: 1536, oldestAgeMs: 2_500, hoursOfOutageLeft: 167.5 }),
  publishInFlight: () => 2,
  mqttClients: () => 1,
};

/** A metric's value as the gateway's /metrics endpoint prints it. */
async function scraped(metrics: GatewayMetrics, series: string): Promise<number> {
  const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`${series} is not in /metrics`);
  return Number(line.split(' ').at(-1));
}

function setup(intervalMs = 10_000) {
  const clock = new ManualClock(T0);
  const topic = new FakeTopic();
  const metrics = new GatewayMetrics(live);
  const failures: Error[] = [];
  const reporter = new HealthReporter(
    metrics,
    topic,
    { gatewayId: 'gw-7', siteId: 'plant-7', intervalMs, attributes: ATTRIBUTES },
    clock,
    { failed: (error) => failures.push(error) },
  );
  return { clock, topic, metrics, failures, reporter };
}

describe('gateway health report', () => {
  it('publishes, every interval, what /metrics shows, with the contract attributes', async () => {
    const { clock, topic, metrics, reporter } = setup();
    metrics.readings.inc(1_000);
    metrics.rejectedReadings('bad_json', 2);
    metrics.rejectedReadings('future_ts', 1);
    metrics.windows.inc({ close_reason: 'watermark' }, 7);
    metrics.windows.inc({ close_reason: 'idle_timeout' }, 1);
    metrics.published.inc(6);
    metrics.publishErrors.inc(4);
    metrics.outboxDropped.inc({ bound: 'bytes' }, 2);
    metrics.outboxDropped.inc({ bound: 'write_error' }, 1);
    for (const seconds of [0.02, 0.02, 0.02, 0.02, 0.2, 0.2]) metrics.publishLatency.observe(seconds);

    reporter.start();
    expect(clock.pending()).toBe(1);
    clock.advance(9_999);
    expect(topic.sent).toHaveLength(0); // nothing before the first interval has passed
    clock.advance(1);
    await until(() => clock.pending() === 1, 'the next report scheduled');

    expect(topic.sent.map((m) => m.attributes)).toEqual([ATTRIBUTES]);
    const [report] = topic.reports();
    expect(report).toMatchObject({
      gatewayId: 'gw-7',
      siteId: 'plant-7',
      reportedAt: BigInt(T0 + 10_000),
      startedAt: BigInt(T0),
      rejectedByReason: {
        bad_json: BigInt(await scraped(metrics, 'pdm_gateway_rejected_total{reason="bad_json"}')),
        future_ts: BigInt(await scraped(metrics, 'pdm_gateway_rejected_total{reason="future_ts"}')),
      },
    });
    expect(report!.readingsAccepted).toBe(BigInt(await scraped(metrics, 'pdm_gateway_readings_total')));
    expect(report!.lateReadings).toBe(BigInt(await scraped(metrics, 'pdm_gateway_late_readings_total')));
    expect(report!.windowsEmitted).toBe(
      BigInt((await scraped(metrics, 'pdm_gateway_windows_emitted_total{close_reason="watermark"}')) + (await scraped(metrics, 'pdm_gateway_windows_emitted_total{close_reason="idle_timeout"}'))),
    );
    expect(report!.windowsPublished).toBe(BigInt(await scraped(metrics, 'pdm_gateway_published_total')));
    expect(report!.publishErrors).toBe(BigInt(await scraped(metrics, 'pdm_gateway_publish_errors_total')));
    expect(report!.windowsDropped).toBe(3n);
    expect(report!.openWindows).toBe(await scraped(metrics, 'pdm_gateway_open_windows'));
    expect(report!.outboxDepth).toBe(BigInt(await scraped(metrics, 'pdm_gateway_outbox_depth')));
    expect(report!.outboxBytes).toBe(BigInt(await scraped(metrics, 'pdm_gateway_outbox_bytes')));
    expect(Number(report!.outboxOldestAgeMs)).toBe(1000 * (await scraped(metrics, 'pdm_gateway_outbox_oldest_age_seconds')));
    expect(report!.outboxHoursOfOutageLeft).toBe(await scraped(metrics, 'pdm_gateway_outbox_hours_of_outage_left'));
    expect(report!.publishInFlight).toBe(await scraped(metrics, 'pdm_gateway_publish_in_flight'));
    expect(report!.publishLatency?.confirmed).toBe(BigInt(await scraped(metrics, 'pdm_gateway_publish_latency_seconds_count')));
    expect(report!.publishLatency?.meanMs).toBeCloseTo((1000 * (await scraped(metrics, 'pdm_gateway_publish_latency_seconds_sum'))) / 6, 9);
    expect(report!.publishLatency?.p50Ms).toBeCloseTo(25 - 15 * (1 / 4), 9); // rank 3 of the 4 in (10, 25] ms
    expect(report!.publishLatency?.p99Ms).toBeCloseTo(100 + 150 * (1.94 / 2), 9); // rank 5.94 in (100, 250] ms
  });

  it('sends running totals, and latency only for what was confirmed since the previous report', async () => {
    const { clock, topic, metrics, reporter } = setup();
    reporter.start();
    metrics.readings.inc(100);
    metrics.publishLatency.observe(0.02);
    clock.advance(10_000);
    await until(() => clock.pending() === 1 && topic.sent.length === 1, 'second report scheduled');
    metrics.readings.inc(50);
    clock.advance(10_000);
    await until(() => clock.pending() === 1 && topic.sent.length === 2, 'third report scheduled');

    const [first, second] = topic.reports();
    expect([first!.readingsAccepted, second!.readingsAccepted]).toEqual([100n, 150n]);
    expect([first!.reportedAt, second!.reportedAt]).toEqual([BigInt(T0 + 10_000), BigInt(T0 + 20_000)]);
    expect(first!.publishLatency?.confirmed).toBe(1n);
    expect(second!.publishLatency).toBeUndefined(); // nothing confirmed in between: no figure, not zero
  });

  it('carries on after a failed publish and stops when told', async () => {
    const { clock, topic, failures, reporter } = setup();
    reporter.start();
    topic.failNext = true;
    clock.advance(10_000);
    await until(() => clock.pending() === 1, 'the next report scheduled after the failure');
    expect(failures.map((e) => e.message)).toEqual(['UNAVAILABLE']);
    expect(topic.sent).toHaveLength(0);

    clock.advance(10_000);
    await until(() => topic.sent.length === 1, 'the next report published');
    await until(() => clock.pending() === 1, 'and the one after scheduled');
    reporter.stop();
    expect(clock.pending()).toBe(0);
    clock.advance(60_000);
    expect(topic.sent).toHaveLength(1);
  });

  it('schedules nothing when the interval is 0, but still reports on demand', async () => {
    const { clock, topic, reporter } = setup(0);
    reporter.start();
    expect(clock.pending()).toBe(0);
    const report = await reporter.report();
    expect(topic.reports()).toEqual([report]);
  });
});
