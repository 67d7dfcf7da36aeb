// A window's alert decision is written in the same InfluxDB request as the window's own points, so a
// window waits for one write instead of two, and the state still outlives the processor: WindowPipeline
// with the real sink, AlertDispatcher and InfluxAlertStore over a real influxd.
import { ManualClock } from '@pdm/clock';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertDeliveries } from '../alerts/alert-delivery.js';
import { AlertDispatcher } from '../alerts/alert-dispatcher.js';
import { InfluxAlertStore } from '../alerts/alert-store.js';
import { ProcessorMetrics } from '../ops/metrics.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
import { RecordingTarget } from '../test-support/alert-windows.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow, SENSORS, T0, WINDOW_MS } from '../test-support/windows.js';
import { WindowPipeline } from './window-pipeline.js';

/** K = N = M = 2: two anomalous windows open, two normal ones resolve. */
const RULE = { openAfter: 2, within: 2, resolveAfter: 2 };

describe('WindowPipeline: a window’s alert decision travels with its points', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx?.stop();
  });

  /** One processor's pipeline on `database`, recording the points of each write request it sends. */
  function processor(database: string, target: RecordingTarget) {
    const requests: number[] = [];
    // Real timers for the sink's batch delay; the alert bookkeeping on a clock of its own.
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database }, { batchWritten: (points) => requests.push(points) });
    const store = new InfluxAlertStore(sink);
    const clock = new ManualClock(T0 + 3_600_000);
    const log = pino({ level: 'silent' });
    const metrics = new ProcessorMetrics();
    const deliveries = new AlertDeliveries([target], store, { giveUpAfterMs: 3_600_000, takeoverAfterMs: 300_000, sweepIntervalMs: 60_000 }, clock, log);
    const alerts = new AlertDispatcher(RULE, store, deliveries, metrics, clock, log);
    return { sink, requests, pipeline: new WindowPipeline(sink, new ScriptedScorer(), alerts, metrics, clock, log) };
  }

  it('writes the window that opens an alert with its alert state, `alerts` point and delivery record in one request; a restarted processor resolves that alert', async () => {
    const database = uniqueDatabaseName('window_alerts');
    const before = new RecordingTarget();
    const first = processor(database, before);
    await first.sink.start();
    await first.pipeline.handle(makeWindow({ index: 0, faulty: true }));
    first.requests.length = 0;
    await first.pipeline.handle(makeWindow({ index: 1, faulty: true }));
    // Its features (a point per sensor), its anomaly point, the machine's alert_state, the `alerts`
    // point of the open and its delivery record: one request.
    expect(first.requests).toEqual([SENSORS.length + 4]);
    const alertId = `pump-1-${T0 + 2 * WINDOW_MS}`;
    expect(before.sent).toEqual([`open:${alertId}`]);
    await first.sink.flush(); // the delivery's record, confirmed

    // A new processor on the same database carries on from the stored state: two normal windows resolve that alert.
    const after = new RecordingTarget();
    const second = processor(database, after);
    await second.pipeline.handle(makeWindow({ index: 2 }));
    await second.pipeline.handle(makeWindow({ index: 3 }));
    await until(() => after.sent.length === 1, 'the resolve delivered');
    expect(after.sent).toEqual([`resolved:${alertId}`]);
    await second.sink.flush();
  });
});
