// What the alert tests share: window scores of one pump, and an alert target that records what it was sent.
import type { DeliveryTarget } from '../alerts/alert-delivery.js';
import type { AlertTransition } from '../alerts/alert-tracker.js';
import type { WindowScore } from '../model/api.js';

/** plant-1's pump-1, window `index` of 10 s from `base` (epoch ms): score 9 over threshold 5 when anomalous, else 1. */
export const pumpScore = (index: number, isAnomaly: boolean, base = 0): WindowScore => ({
  siteId: 'plant-1',
  machineId: 'pump-1',
  windowStart: base + index * 10_000,
  windowEnd: base + (index + 1) * 10_000,
  model: 'm',
  modelVersion: '1',
  score: isAnomaly ? 9 : 1,
  threshold: 5,
  isAnomaly,
  contributions: {},
});

/** A topic that takes every transition at once and records `state:alertId`. */
export class RecordingTarget implements DeliveryTarget {
  readonly name = 'topic';
  readonly maxAttempts = 1;
  readonly backoff = { initialMs: 1_000, multiplier: 2, maxMs: 1_000 };
  readonly sent: string[] = [];
  send(t: AlertTransition): Promise<void> {
    this.sent.push(`${t.state}:${t.alertId}`);
    return Promise.resolve();
  }
}
