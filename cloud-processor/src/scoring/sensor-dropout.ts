// A sensor that stops delivering while the rest of its machine reports is a fault a maintenance team
// must hear of (a loose connector, a failing transmitter), not only a window the model cannot score:
// pdm simulate's sensor dropout loses 30 % and then up to 95 % of one sensor's readings, and its
// windows, refused as incomplete, raised no alert (issue #15, seeds 23 and 31: both dropouts missed).
// So a window in which one of a model's sensors has fewer than minCompleteness of its expected readings
// while another of them has at least that share is decided by completeness alone: anomalous, its score
// (1 − c)/(1 − minCompleteness) for the least complete sensor's share c (above 1: 1.4 for 3 readings of
// 10 at the default half), threshold 1, that sensor's contribution 1. When every sensor is short — a
// partial window at the end of a recording, a gateway that lost its sensors' link — the window stays a
// contract mismatch: that is no one sensor's fault.
import type { MachineWindow } from '@pdm/proto';
import type { FeatureLayout } from '../model/features.js';

export interface SensorDropout {
  sensor: string;
  /** count / expectedCount of that sensor in the window. */
  completeness: number;
  /** (1 − completeness) / (1 − minCompleteness): above 1. */
  score: number;
}

/** The window's least complete sensor of `layout`, when it is short and another is not; null otherwise. */
export function sensorDropout(window: MachineWindow, layout: FeatureLayout, minCompleteness: number): SensorDropout | null {
  let worst: { sensor: string; completeness: number } | undefined;
  let anyComplete = false;
  for (const sensor of layout.sensors) {
    const stats = window.sensors.find((s) => s.sensorId === sensor);
    if (stats === undefined || !(stats.expectedCount > 0)) continue;
    const completeness = stats.count / stats.expectedCount;
    if (completeness >= minCompleteness) anyComplete = true;
    else if (worst === undefined || completeness < worst.completeness) worst = { sensor, completeness };
  }
  if (worst === undefined || !anyComplete) return null;
  return { ...worst, score: (1 - worst.completeness) / (1 - minCompleteness) };
}
