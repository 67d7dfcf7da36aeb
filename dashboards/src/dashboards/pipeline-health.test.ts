// The pipeline health figures against a real influxd, on the reports that trip the easy mistakes: a
// processor restarting under the same instance id (its dead-letter total back to zero), instances gone
// for good whose last reports stay in the time range (a pod replaced in a rolling restart, a gateway
// taken out), and reports of intervals that settled no message (no ack latency or lag field).
import { DEFAULT_DATABASE as DATABASE, INFLUX_SINK_DEFAULTS, InfluxSink, parseProcessorConfig, type ProcessorReport } from '@pdm/cloud-processor';
import { startTestInflux, type RunningInflux } from '@pdm/influx-harness';
import { create, GatewayHealthSchema } from '@pdm/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardJson } from '../test-support/dashboard-queries.js';
import type { TemplateContext } from '../test-support/grafana-interpolation.js';
import { queryOf, resultRows } from '../test-support/panel-rows.js';
import { DEFAULT_REPORT_INTERVAL_MS, LIVE_REPORT_INTERVALS, PIPELINE_HEALTH } from './pipeline-health.js';

const REPORT_MS = DEFAULT_REPORT_INTERVAL_MS.processor;
/** Half an hour of reports; report i is at t0 + (i + 1) × REPORT_MS. */
const REPORTS = 180;
/** The second half of the range: the rolled-away pod and the removed gateway no longer report. */
const GONE_FROM = 90;
/** Reports that settled no message: processor-1 every other one, and every instance for this stretch. */
const QUIET = { from: 120, to: 130 };
const settledAt = (instance: string, i: number) => !(i >= QUIET.from && i < QUIET.to) && (instance !== 'processor-1' || i % 2 === 0);

interface ProcessorPlan {
  instance: string;
  reports(i: number): boolean;
  throughput: number;
  inFlight: number;
  deadLetters(i: number): number;
  ackMs: number;
  lagMs: number;
}

const PROCESSORS: ProcessorPlan[] = [
  // The default instance id: a restart keeps it. Down for two reports at GONE_FROM, back with its
  // dead-letter total from zero: 50 → 55 before (5), 0 → 2 after (2).
  {
    instance: 'processor-1',
    reports: (i) => i !== GONE_FROM && i !== GONE_FROM + 1,
    throughput: 5,
    inFlight: 3,
    deadLetters: (i) => (i < 45 ? 50 : i < GONE_FROM ? 55 : i < 150 ? 0 : 2),
    ackMs: 40,
    lagMs: 1_000,
  },
  { instance: 'processor-2', reports: () => true, throughput: 7, inFlight: 4, deadLetters: () => 0, ackMs: 60, lagMs: 2_000 },
  // A pod name replaced in a rolling restart: its last report stays in the range.
  { instance: 'pdm-processor-7f9c-x2k4q', reports: (i) => i < GONE_FROM, throughput: 6, inFlight: 9, deadLetters: () => 1, ackMs: 50, lagMs: 1_500 },
];
const DEAD_LETTERS_IN_RANGE = 7;

const GATEWAYS = [
  { gateway: 'gw-live', reports: () => true, outboxDepth: 4, hoursLeft: 100 },
  { gateway: 'gw-removed', reports: (i: number) => i < GONE_FROM, outboxDepth: 50, hoursLeft: 2 },
];

function processorReport(plan: ProcessorPlan, i: number): ProcessorReport {
  const settled = settledAt(plan.instance, i);
  return {
    throughput: plan.throughput,
    messages: i * 10,
    // An interval that settled nothing has no ack latency or lag: the fields are left out (the sink
    // drops a non-finite figure), never written as 0.
    ack_latency_ms: settled ? plan.ackMs : Number.NaN,
    lag_ms: settled ? plan.lagMs : Number.NaN,
    dead_letters: plan.deadLetters(i),
    contract_mismatches: 0,
    in_flight: plan.inFlight,
    open_alerts: 0,
  };
}

describe('pipeline health, on restarted, replaced and idle instances (real influxd)', () => {
  let influx: RunningInflux;
  let t0: number;
  let to: number;

  beforeAll(async () => {
    influx = await startTestInflux();
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: DATABASE, batchMaxDelayMs: 5 });
    await sink.start();
    // Recent enough to sit inside the raw retention policy.
    t0 = Math.floor(Date.now() / REPORT_MS) * REPORT_MS - 60 * 60_000;
    to = t0 + REPORTS * REPORT_MS;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < REPORTS; i++) {
      const at = t0 + (i + 1) * REPORT_MS;
      for (const plan of PROCESSORS.filter((p) => p.reports(i))) writes.push(sink.writeProcessorReport(plan.instance, processorReport(plan, i), at));
      for (const gw of GATEWAYS.filter((g) => g.reports(i))) {
        writes.push(
          sink.writeGatewayHealth(
            create(GatewayHealthSchema, {
              gatewayId: gw.gateway,
              siteId: 'plant-1',
              reportedAt: BigInt(at - 4_000),
              startedAt: BigInt(t0 - 3_600_000),
              windowsEmitted: BigInt(i * 2),
              windowsPublished: BigInt(i * 2 - gw.outboxDepth),
              openWindows: 2,
              outboxDepth: BigInt(gw.outboxDepth),
              outboxHoursOfOutageLeft: gw.hoursLeft,
            }),
          ),
        );
      }
    }
    await Promise.all(writes);
    await sink.flush();
  });
  afterAll(async () => {
    await influx?.stop();
  });

  const dashboard = JSON.parse(JSON.stringify(PIPELINE_HEALTH.build())) as DashboardJson;
  const query = (title: string) => queryOf(dashboard, title);

  /** Every variable on All, as an operator opens the dashboard; the range [t0, end]. */
  const context = (end = to): TemplateContext => ({
    from: t0,
    to: end,
    intervalMs: REPORT_MS,
    variables: new Map([
      ['site', { values: ['plant-1'], multi: true }],
      ['gateway', { values: GATEWAYS.map((g) => g.gateway), multi: true }],
      ['instance', { values: PROCESSORS.map((p) => p.instance), multi: true }],
    ]),
  });

  /** The panel's result rows, as column → value. */
  const rows = (title: string, ctx = context()) => resultRows(influx, query(title), ctx);
  /** A headline's figure: its one row's `column`. */
  async function figure(title: string, column: string, ctx = context()) {
    const result = await rows(title, ctx);
    expect(result, title).toHaveLength(1);
    return result[0]![column];
  }

  it('holds the live window to the processor default report interval', () => {
    expect(DEFAULT_REPORT_INTERVAL_MS.processor).toBe(parseProcessorConfig({}).pipelineReportIntervalMs);
    expect(query('Throughput (all instances)').text).toContain(`time > \${__to}ms - ${LIVE_REPORT_INTERVALS * REPORT_MS}ms`);
  });

  it('counts the dead letters of a processor that restarted under its instance id once, not its total', async () => {
    // spread() read 55 here: the largest total minus the smallest, across the restart.
    expect(await figure('Dead letters in range', 'dead_letters')).toBe(DEAD_LETTERS_IN_RANGE);
    // The per-interval bars agree with the headline.
    const bars = await rows('Dead letters and contract mismatches per interval');
    const total = bars.reduce((sum, row) => sum + (typeof row['dead letters'] === 'number' ? row['dead letters'] : 0), 0);
    expect(total).toBe(DEAD_LETTERS_IN_RANGE);
  });

  it('sums the latest throughput and in-flight count of the live processor instances only', async () => {
    // The replaced pod's last report (6/s, 9 in flight) is in the range, half an hour old.
    expect(await figure('Throughput (all instances)', 'throughput')).toBe(5 + 7);
    expect(await figure('Messages in flight', 'in_flight')).toBe(3 + 4);
    // A range that ends while the pod still ran counts it: the figures are as of the end of the range.
    const earlier = context(t0 + GONE_FROM * REPORT_MS);
    expect(await figure('Throughput (all instances)', 'throughput', earlier)).toBe(5 + 7 + 6);
    expect(await figure('Messages in flight', 'in_flight', earlier)).toBe(3 + 4 + 9);
  });

  it('reads the outbox of the gateways that still report only', async () => {
    expect(await figure('Outbox depth (selected gateways)', 'outbox_depth')).toBe(4);
    expect(await figure('Least hours of outage left', 'hours')).toBe(100);
  });

  it('averages ack latency and lag over the reports that settled a message, with a gap where none did', async () => {
    const lags = PROCESSORS.flatMap((p) => [...Array(REPORTS).keys()].filter((i) => p.reports(i) && settledAt(p.instance, i)).map(() => p.lagMs));
    const meanLag = lags.reduce((a, b) => a + b, 0) / lags.length;
    expect(await figure('End-to-end lag (mean in range)', 'lag')).toBeCloseTo(meanLag, 6);

    const series = await rows('Ack latency and end-to-end lag');
    const at = (instance: string, i: number) => series.find((r) => r.instance === instance && r.time === t0 + (i + 1) * REPORT_MS);
    // processor-1 settled nothing in report 1: a gap, not a latency of 0.
    expect(at('processor-1', 0)).toMatchObject({ 'ack latency': 40, 'end-to-end lag': 1_000 });
    expect(at('processor-1', 1)).toMatchObject({ 'ack latency': null, 'end-to-end lag': null });
    expect(at('processor-2', 1)).toMatchObject({ 'ack latency': 60, 'end-to-end lag': 2_000 });
    for (let i = QUIET.from; i < QUIET.to; i++) {
      for (const instance of ['processor-1', 'processor-2']) expect(at(instance, i), `${instance} report ${i}`).toMatchObject({ 'ack latency': null, 'end-to-end lag': null });
    }
  });
});
