// The pipeline reporter against a real influxd, on a manual clock: the `pipeline` points it writes,
// interval by interval, as the dashboards read them back.
import { ManualClock } from '@pdm/clock';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxSink } from '../sink/influx-sink.js';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
import { ProcessorMetrics } from './metrics.js';
import { PipelineReporter } from './pipeline-reporter.js';

describe('PipelineReporter against a real influxd', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx.stop();
  });

  /** A reporter for `instance` on a manual clock, and how to settle messages and read its points back. */
  async function setup(instance = 'proc-1') {
    const database = uniqueDatabaseName('pipeline');
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 1 });
    await sink.start();
    const metrics = new ProcessorMetrics();
    const start = Math.floor(Date.now() / 1000) * 1000 - 3_600_000; // within the raw retention
    const clock = new ManualClock(start);
    const reporter = new PipelineReporter(sink, metrics, instance, clock, pino({ level: 'silent' }));
    /** `count` messages settled after `ackSeconds` each, `stored` of them windows stored `lagSeconds` after their end. */
    const settle = (count: number, ackSeconds: number, stored: number, lagSeconds: number) => {
      metrics.messages.inc({ outcome: stored > 0 ? 'acked' : 'nacked', schema: 'pdm.v1.MachineWindow' }, count);
      for (let i = 0; i < count; i++) metrics.ackLatency.observe(ackSeconds);
      for (let i = 0; i < stored; i++) metrics.endToEndLatency.observe(lagSeconds);
    };
    const points = async () => {
      const [result] = (await influx.query(`SELECT throughput, messages, ack_latency_ms, lag_ms, in_flight FROM pipeline WHERE instance = '${instance}'`, database)).results;
      return result?.series?.[0]?.values ?? [];
    };
    return { sink, clock, reporter, start, settle, points };
  }

  it('writes rates and means over each interval: no throughput in the first report, no latency or lag where nothing settled or was stored', async () => {
    const { sink, clock, reporter, start, settle, points } = await setup();
    const reportAfter = async (ms: number) => {
      clock.advance(ms);
      await reporter.report();
      await sink.flush();
    };

    settle(40, 0.25, 40, 1.5);
    await reportAfter(10_000);
    settle(20, 0.5, 20, 3);
    await reportAfter(10_000);
    await reportAfter(10_000); // nothing arrived
    settle(5, 2, 0, 0); // InfluxDB down: nacked after a back-off, nothing stored
    await reportAfter(10_000);

    expect(await points()).toEqual([
      [start + 10_000, null, 40, 250, 1500, 0],
      [start + 20_000, 2, 60, 500, 3000, 0],
      [start + 30_000, 0, 60, null, null, 0],
      [start + 40_000, 0.5, 65, 2000, null, 0],
    ]);
  });

  it('writes a last report at close, of what settled since the interval’s report, once that report is written; none after, none when off', async () => {
    const { sink, clock, reporter, start, settle, points } = await setup();
    reporter.start(10_000);
    settle(40, 0.25, 40, 1.5);
    clock.advance(10_000);
    await new Promise(setImmediate); // the interval's report reads its figures; its write is under way
    settle(20, 0.5, 20, 3); // e.g. the messages in flight at the stop, finished by the drain
    clock.advance(4_000);
    // Both points are stored once close() resolves, without a flush.
    await reporter.close();
    const atClose = [
      [start + 10_000, null, 40, 250, 1500, 0],
      [start + 14_000, 5, 60, 500, 3000, 0],
    ];
    expect(await points()).toEqual(atClose);
    clock.advance(10_000);
    await sink.flush();
    expect(await points()).toEqual(atClose);

    const off = await setup('proc-off');
    off.reporter.start(0);
    off.settle(40, 0.25, 40, 1.5);
    off.clock.advance(10_000);
    await off.reporter.close();
    await off.sink.flush();
    expect(await off.points()).toEqual([]);
  });
});
