// A window's alert decision may be stored before its points (it goes out with whatever batch is open:
// window-pipeline.ts), but the alert is delivered only once the window's points are stored: a window
// whose points fail notifies nobody, and its redelivery, once its points are stored, delivers the
// decision taken the first time, once. The latencies end at the points written, not at the decision
// stored. WindowPipeline with the real AlertDispatcher and AlertDeliveries over an in-memory store, and
// a sink (and a state load) the test settles by hand.
import { ManualClock } from '@pdm/clock';
import { until } from '@pdm/pubsub-emulator/testing';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AlertDeliveries } from '../alerts/alert-delivery.js';
import { AlertDispatcher } from '../alerts/alert-dispatcher.js';
import { ProcessorMetrics } from '../ops/metrics.js';
import type { InfluxSink } from '../sink/influx-sink.js';
import { RecordingTarget } from '../test-support/alert-windows.js';
import { deferred, type Deferred } from '../test-support/deferred.js';
import { MemoryAlertStore } from '../test-support/memory-alert-store.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow, T0, WINDOW_MS } from '../test-support/windows.js';
import { WindowPipeline } from './window-pipeline.js';

/** One anomalous window opens an alert. */
const RULE = { openAfter: 1, within: 1, resolveAfter: 1 };

/** A sink whose every points write waits for the test to resolve or reject it. */
class HandSettledSink {
  readonly writes: Deferred[] = [];
  writeScoredWindow(): Promise<void> {
    const write = deferred();
    this.writes.push(write);
    return write.promise;
  }
}

/** Lets every pending callback run (the decision's save, a delivery started after it). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WindowPipeline: an alert is delivered only once its window’s points are stored', () => {
  it('a window whose points write fails delivers nothing; its redelivery delivers the alert once its points are stored, once', async () => {
    const clock = new ManualClock(T0 + 3_600_000);
    const log = pino({ level: 'silent' });
    const metrics = new ProcessorMetrics();
    const store = new MemoryAlertStore();
    const target = new RecordingTarget();
    const deliveries = new AlertDeliveries([target], store, { giveUpAfterMs: 3_600_000, takeoverAfterMs: 300_000, sweepIntervalMs: 60_000 }, clock, log);
    const alerts = new AlertDispatcher(RULE, store, deliveries, metrics, clock, log);
    const sink = new HandSettledSink();
    const pipeline = new WindowPipeline(sink as unknown as InfluxSink, new ScriptedScorer(), alerts, metrics, clock, log);
    const window = makeWindow({ index: 0, faulty: true });
    const alertId = `pump-1-${T0 + WINDOW_MS}`;

    const first = pipeline.handle(window);
    // The decision (open, with its delivery record) is stored while the points still wait for their write.
    await until(() => store.states.size === 1, 'the open stored');
    await settle();
    expect(target.sent).toEqual([]);
    sink.writes[0]!.reject(new Error('points batch refused'));
    await expect(first).rejects.toThrow('points batch refused');
    await settle();
    expect(target.sent).toEqual([]);

    // The redelivery: the decision is not taken again, and the alert goes once its points are stored.
    const again = pipeline.handle(window);
    await until(() => sink.writes.length === 2, 'the redelivery’s points handed to the sink');
    await settle();
    expect(target.sent).toEqual([]);
    sink.writes[1]!.resolve();
    await again;
    await settle();
    expect(target.sent).toEqual([`open:${alertId}`]);
    expect(store.saved).toHaveLength(2); // the record stored with the decision, and its confirmation
    expect(store.saved[1]!.pending).toEqual([]);
  });

  it('measures end-to-end and close-to-store latency to the window’s points written, not to its alert decision stored', async () => {
    const clock = new ManualClock(T0 + 2 * WINDOW_MS);
    const log = pino({ level: 'silent' });
    const metrics = new ProcessorMetrics();
    const store = new MemoryAlertStore();
    // The machine's first window here: its state is loaded first, and the decision waits for that.
    const load = deferred();
    const loadNow = store.load.bind(store);
    store.load = async (machine) => (await load.promise, loadNow(machine));
    const deliveries = new AlertDeliveries([new RecordingTarget()], store, { giveUpAfterMs: 3_600_000, takeoverAfterMs: 300_000, sweepIntervalMs: 60_000 }, clock, log);
    const sink = new HandSettledSink();
    const pipeline = new WindowPipeline(sink as unknown as InfluxSink, new ScriptedScorer(), new AlertDispatcher(RULE, store, deliveries, metrics, clock, log), metrics, clock, log);
    const window = makeWindow({ index: 0, faulty: true });
    window.closedAt = BigInt(T0 + WINDOW_MS + 2_000);

    const handled = pipeline.handle(window);
    await until(() => sink.writes.length === 1, 'the points handed to the sink');
    sink.writes[0]!.resolve(); // stored 10 s after the window's end, 8 s after its close
    await settle();
    clock.advance(5_000);
    load.resolve(); // the decision, stored 5 s later
    await handled;
    const sum = async (histogram: typeof metrics.endToEndLatency) => (await histogram.get()).values.find((v) => v.metricName?.endsWith('_sum'))?.value;
    expect(await sum(metrics.endToEndLatency)).toBe(10);
    expect(await sum(metrics.closeToStoreLatency)).toBe(8);
  });
});
