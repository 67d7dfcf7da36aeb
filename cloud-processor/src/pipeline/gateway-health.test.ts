// A gateway health report published with the official Pub/Sub client to the emulator, as the edge
// gateway publishes it, becomes one `pipeline` point (component=edge-gateway) in a real influxd.
import { GatewayHealthSchema, create, type GatewayHealth } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_REASON_ATTRIBUTES } from '../transport/dead-letter.js';
import { useProcessorTestbeds } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { T0 } from '../test-support/windows.js';

const SELECTION = `FROM pipeline WHERE component = 'edge-gateway' AND instance = 'gw-north' AND site = 'plant-9'`;

function healthReport(overrides: Partial<Pick<GatewayHealth, 'gatewayId' | 'reportedAt' | 'publishLatency'>> = {}): GatewayHealth {
  return create(GatewayHealthSchema, {
    gatewayId: 'gw-north',
    siteId: 'plant-9',
    reportedAt: BigInt(T0 + 5_000),
    startedAt: BigInt(T0 - 3_600_000),
    readingsAccepted: 1_234n,
    rejectedByReason: { bad_json: 3n, future_ts: 1n },
    lateReadings: 7n,
    windowsEmitted: 40n,
    windowsPublished: 38n,
    publishErrors: 2n,
    windowsDropped: 0n,
    openWindows: 4,
    outboxDepth: 2n,
    outboxBytes: 1_240n,
    outboxOldestAgeMs: 1_500n,
    outboxHoursOfOutageLeft: 46.5,
    publishInFlight: 2,
    publishLatency: { confirmed: 4n, meanMs: 14.5, p50Ms: 9.25, p99Ms: 48 },
    ...overrides,
  });
}

describe('gateway health reports: Pub/Sub → pipeline point in InfluxDB', () => {
  const startTestbed = useProcessorTestbeds();

  it('writes a report as one point tagged with the gateway and its site, at the report time', async () => {
    const t = await startTestbed();
    const processor = await t.start({}, { scorer: new ScriptedScorer() });
    await t.bed.publishHealth(healthReport());
    await until(() => t.bed.stats().acked === 1, 'the report acked');

    const fields =
      'readings_accepted, rejected, rejected_bad_json, rejected_future_ts, late_readings, windows_emitted, windows_published, publish_errors, windows_dropped, ' +
      'open_windows, outbox_depth, outbox_bytes, outbox_oldest_age_ms, outbox_hours_of_outage_left, publish_in_flight, ' +
      'publish_latency_mean_ms, publish_latency_p50_ms, publish_latency_p99_ms';
    expect(await t.rows(`SELECT ${fields} ${SELECTION}`)).toEqual([[T0 + 5_000, 1_234, 4, 3, 1, 7, 40, 38, 2, 0, 4, 2, 1_240, 1_500, 46.5, 2, 14.5, 9.25, 48]]);
    expect(await processor.metrics.value('pdm_processor_messages_total', { outcome: 'acked', schema: 'pdm.v1.GatewayHealth' })).toBe(1);
  });

  it('overwrites the point on redelivery, and leaves latency out when nothing was confirmed', async () => {
    const t = await startTestbed();
    await t.start({}, { scorer: new ScriptedScorer() });
    const report = healthReport();
    await t.bed.publishHealth(report);
    await t.bed.publishHealth(report); // a redelivery, or the client retrying a publish
    const idle = healthReport({ reportedAt: BigInt(T0 + 15_000), publishLatency: undefined });
    await t.bed.publishHealth(idle);
    await until(() => t.bed.stats().acked === 3, 'three acks');
    expect(await t.count(`SELECT COUNT(readings_accepted) ${SELECTION}`)).toBe(2);
    expect(await t.rows(`SELECT publish_latency_p50_ms ${SELECTION}`)).toEqual([[T0 + 5_000, 9.25]]);
  });

  it('dead-letters a report that names no gateway (unusable) and one whose bytes do not decode (undecodable)', async () => {
    const t = await startTestbed();
    await t.start({}, { scorer: new ScriptedScorer() });
    await t.bed.publishHealth(healthReport({ gatewayId: '' }));
    await t.bed.publishRaw(new Uint8Array([0x0a, 0x7f, 0x01]), { schema: 'pdm.v1.GatewayHealth', gateway: 'gw-north', site: 'plant-9' });
    const deadLetters = await t.bed.deadLetters.waitFor(2);
    // The first decodes but cannot be used; the second does not decode.
    const detailByReason = Object.fromEntries(
      deadLetters.map((m): [string, string] => [String(m.attributes[DEAD_LETTER_REASON_ATTRIBUTES.reason]), String(m.attributes[DEAD_LETTER_REASON_ATTRIBUTES.detail])]),
    );
    expect(Object.keys(detailByReason).sort()).toEqual(['undecodable', 'unusable']);
    expect(detailByReason['unusable']).toMatch(/GatewayHealth needs gateway_id/);
    expect(detailByReason['undecodable']).toMatch(/not a valid pdm.v1.GatewayHealth/);
    await until(() => t.bed.stats().acked === 2, 'both acked once dead-lettered');
    expect(t.bed.stats().nacked).toBe(0);
    expect(await t.count(`SELECT COUNT(readings_accepted) FROM pipeline`)).toBe(0);
  });
});
