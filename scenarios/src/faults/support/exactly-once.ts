// The suite's central assertion: InfluxDB holds exactly the expected windows, each exactly once.
//   sensor_features: the set of windows equals the expected set, and every (window, sensor) has one
//     point — none missing (loss), none extra (a window nobody sent), none twice (duplicate).
//   anomaly: exactly one point for every window the processor can score — every contract sensor
//     present with at least the model's minimum completeness, the rule the scorer applies — and no
//     point for any other window.
import { MODEL_DEFAULTS } from '@pdm/cloud-processor';
import type { RunningInflux } from '@pdm/influx-harness';
import { expect } from 'vitest';
import { takeCensus, type WindowCensus } from './census.js';
import { type WindowKey, difference } from './windows.js';

const SAMPLE = 10;

function scorable(census: WindowCensus, key: WindowKey, contractSensors: readonly string[]): boolean {
  const sensors = census.features.get(key);
  return contractSensors.every((id) => {
    const s = sensors?.get(id);
    return s !== undefined && !(s.expectedCount > 0 && s.count < MODEL_DEFAULTS.minCompleteness * s.expectedCount);
  });
}

/** What is wrong, as counts plus a few examples of each (empty when all is well). */
export function exactlyOnceReport(census: WindowCensus, expected: ReadonlySet<WindowKey>, contractSensors: readonly string[]) {
  const stored = new Set(census.features.keys());
  const missing = difference(expected, stored);
  const unexpected = difference(stored, expected);
  const duplicated = [...census.features].flatMap(([key, sensors]) =>
    [...sensors].filter(([, s]) => s.points !== 1).map(([sensor, s]) => `${key}/${sensor} ×${s.points}`),
  );
  const shouldScore = new Set([...stored].filter((key) => expected.has(key) && scorable(census, key, contractSensors)));
  const anomalyDuplicated = [...census.anomaly].filter(([, n]) => n !== 1).map(([key, n]) => `${key} ×${n}`);
  const anomalyMissing = difference(shouldScore, new Set(census.anomaly.keys()));
  const anomalyUnexpected = difference(census.anomaly.keys(), shouldScore);
  const summary = (list: string[]) => ({ count: list.length, examples: list.slice(0, SAMPLE) });
  return {
    featureWindows: { missing: summary(missing), unexpected: summary(unexpected), duplicatedPoints: summary(duplicated) },
    anomalyWindows: { missing: summary(anomalyMissing), unexpected: summary(anomalyUnexpected), duplicatedPoints: summary(anomalyDuplicated) },
    scoredWindows: shouldScore.size,
  };
}

export function expectExactlyOnce(census: WindowCensus, expected: ReadonlySet<WindowKey>, contractSensors: readonly string[]): void {
  const report = exactlyOnceReport(census, expected, contractSensors);
  const none = { count: 0, examples: [] };
  expect(report).toEqual({
    featureWindows: { missing: none, unexpected: none, duplicatedPoints: none },
    anomalyWindows: { missing: none, unexpected: none, duplicatedPoints: none },
    scoredWindows: report.scoredWindows,
  });
  // Most windows are complete, so scored: an anomaly check over a handful would prove little.
  expect(report.scoredWindows).toBeGreaterThan(0.8 * expected.size);
}

const isClean = (report: ReturnType<typeof exactlyOnceReport>) =>
  [report.featureWindows, report.anomalyWindows].every((part) => Object.values(part).every((s) => s.count === 0));

/**
 * Waits (polling, at most timeoutMs) until InfluxDB holds exactly the expected windows, then asserts
 * it; on timeout the assertion reports what is missing, extra or duplicated.
 */
export async function expectEventuallyExactlyOnce(
  influx: RunningInflux,
  expected: ReadonlySet<WindowKey>,
  contractSensors: readonly string[],
  timeoutMs: number,
): Promise<WindowCensus> {
  const deadline = Date.now() + timeoutMs;
  let census = await takeCensus(influx);
  while (!isClean(exactlyOnceReport(census, expected, contractSensors)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    census = await takeCensus(influx);
  }
  expectExactlyOnce(census, expected, contractSensors);
  return census;
}
