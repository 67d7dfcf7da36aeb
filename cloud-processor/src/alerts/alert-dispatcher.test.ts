// AlertDispatcher over an in-memory store: one machine's windows are counted one after another even
// when they arrive together, a state that could not be stored fails the window (→ nack) and the
// redelivery counts it, and two dispatchers sharing a store act as one.
import { ManualClock } from '@pdm/clock';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { WindowScore } from '../model/api.js';
import { ProcessorMetrics } from '../ops/metrics.js';
import { MemoryAlertStore } from '../test-support/memory-alert-store.js';
import { AlertDeliveries, type DeliveryTarget } from './alert-delivery.js';
import { AlertDispatcher } from './alert-dispatcher.js';
import type { AlertTransition } from './alert-tracker.js';

const RULE = { openAfter: 2, within: 2, resolveAfter: 2 };

const score = (index: number, isAnomaly: boolean): WindowScore => ({
  siteId: 'plant-1',
  machineId: 'pump-1',
  windowStart: index * 10_000,
  windowEnd: (index + 1) * 10_000,
  model: 'm',
  modelVersion: '1',
  score: isAnomaly ? 9 : 1,
  threshold: 5,
  isAnomaly,
  contributions: {},
});

class RecordingTarget implements DeliveryTarget {
  readonly name = 'topic';
  readonly maxAttempts = 1;
  readonly backoff = { initialMs: 1_000, multiplier: 2, maxMs: 1_000 };
  readonly sent: string[] = [];
  send(t: AlertTransition): Promise<void> {
    this.sent.push(`${t.state}:${t.alertId}`);
    return Promise.resolve();
  }
}

function dispatcher(store: MemoryAlertStore, target: RecordingTarget): AlertDispatcher {
  const clock = new ManualClock(1_000);
  const log = pino({ level: 'silent' });
  const deliveries = new AlertDeliveries([target], store, { giveUpAfterMs: 3_600_000, takeoverAfterMs: 300_000, sweepIntervalMs: 60_000 }, clock, log);
  return new AlertDispatcher(RULE, store, deliveries, new ProcessorMetrics(), clock, log);
}

describe('AlertDispatcher', () => {
  it('counts a machine’s windows one after another when they arrive together', async () => {
    const target = new RecordingTarget();
    const alerts = dispatcher(new MemoryAlertStore(), target);
    await Promise.all([alerts.observe(score(0, true)), alerts.observe(score(1, true))]);
    expect(target.sent).toEqual(['open:pump-1-20000']);
  });

  it('fails a window whose state could not be stored, and counts it once when it comes again', async () => {
    const store = new MemoryAlertStore();
    const target = new RecordingTarget();
    const alerts = dispatcher(store, target);
    await alerts.observe(score(0, true));
    const save = store.save.bind(store);
    store.save = () => Promise.reject(new Error('InfluxDB down'));
    await expect(alerts.observe(score(1, true))).rejects.toThrow('InfluxDB down');
    expect(target.sent).toEqual([]);
    store.save = save;
    await alerts.observe(score(1, true)); // the redelivery
    await alerts.observe(score(1, true)); // and a duplicate of it
    expect(target.sent).toEqual(['open:pump-1-20000']);
  });

  it('two dispatchers sharing a store, taking windows in turn, open and resolve one alert', async () => {
    const store = new MemoryAlertStore();
    const [a, b] = [new RecordingTarget(), new RecordingTarget()];
    const processors = [dispatcher(store, a), dispatcher(store, b)];
    const pattern = [true, true, true, false, false, false];
    for (const [i, anomalous] of pattern.entries()) await processors[i % 2]!.observe(score(i, anomalous));
    // Opened on window 1 (by b), resolved on window 4 (by a).
    expect([...a.sent, ...b.sent].sort()).toEqual(['open:pump-1-20000', 'resolved:pump-1-20000']);
    expect(b.sent).toEqual(['open:pump-1-20000']);
  });
});
