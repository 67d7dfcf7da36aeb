// The suite's central assertion: InfluxDB holds exactly the expected windows, each exactly once,
// each holding exactly what was sent.
//   sensor_features: the set of windows equals the expected set, and every (window, sensor) has one
//     point — none missing (loss), none extra (a window nobody sent), none twice (duplicate).
//   content: every (window, sensor) point has the count of readings the simulator sent for it, and
//     their mean and variance within 1e-9 relative (sent.ts computes them from the simulator's
//     record); a sensor missing from a window or one nobody sent is a mismatch too. Where a test allows
//     a crash's loss, a window may lack one contiguous run of its readings, which are then counted.
//   anomaly: exactly one point for every window the processor can score — every contract sensor
//     present, and at least the model's minimum completeness for all of them or, a sensor dropping out
//     (scoring/sensor-dropout.ts), for at least one: the rules the scorer applies — and no point for
//     any other window.
import { MODEL_DEFAULTS } from '@pdm/cloud-processor';
import type { RunningInflux } from '@pdm/influx-harness';
import { expect } from 'vitest';
import { takeCensus, type WindowCensus } from './census.js';
import { readingsLeftOut, sameStats, type SentReadings, statsOf } from './sent.js';
import { type WindowKey, difference } from './windows.js';

export interface Expected {
  /** The windows InfluxDB must hold, each once. */
  windows: ReadonlySet<WindowKey>;
  /** What was sent for each of them. */
  readings: SentReadings;
  /** A window may lack one contiguous run of its readings (a gateway crash's loss), counted in the report. */
  allowLeftOut?: boolean;
}

const SAMPLE = 10;

function scorable(census: WindowCensus, key: WindowKey, contractSensors: readonly string[]): boolean {
  const sensors = census.features.get(key);
  const stats = contractSensors.map((id) => sensors?.get(id));
  if (stats.some((s) => s === undefined)) return false;
  const short = (s: { count: number; expectedCount: number }): boolean => s.expectedCount > 0 && s.count < MODEL_DEFAULTS.minCompleteness * s.expectedCount;
  const complete = (s: { count: number; expectedCount: number }): boolean => s.expectedCount > 0 && !short(s);
  return !stats.some((s) => short(s!)) || stats.some((s) => complete(s!));
}

/** What is wrong, as counts plus a few examples of each (empty when all is well). */
export function exactlyOnceReport(census: WindowCensus, { windows: expected, readings, allowLeftOut = false }: Expected, contractSensors: readonly string[]) {
  const stored = new Set(census.features.keys());
  const mismatched: string[] = [];
  const leftOut = new Map<string, number>();
  for (const key of expected) {
    const sent = readings.get(key) ?? new Map<string, number[]>();
    const points = census.features.get(key);
    if (!points) continue; // missing, reported as such
    for (const sensor of new Set([...sent.keys(), ...points.keys()])) {
      const point = points.get(sensor);
      const values = sent.get(sensor);
      const lost = !point || !values ? undefined : allowLeftOut ? readingsLeftOut(point, values) : sameStats(point, statsOf(values)) ? 0 : undefined;
      if (lost === 0) continue;
      if (lost !== undefined && allowLeftOut) leftOut.set(`${key}/${sensor}`, lost);
      else mismatched.push(`${key}/${sensor}: stored ${point ? `n=${point.count} mean=${point.mean} var=${point.variance}` : 'nothing'}, sent n=${values?.length ?? 0}`);
    }
  }
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
    content: { mismatched: summary(mismatched) },
    scoredWindows: shouldScore.size,
    /** (window/sensor) → readings it lacks, where the test allows it. */
    leftOut,
  };
}

export type ExactlyOnceReport = ReturnType<typeof exactlyOnceReport>;

export function expectExactlyOnce(census: WindowCensus, expected: Expected, contractSensors: readonly string[]): ExactlyOnceReport {
  const report = exactlyOnceReport(census, expected, contractSensors);
  const none = { count: 0, examples: [] };
  expect(report).toEqual({
    featureWindows: { missing: none, unexpected: none, duplicatedPoints: none },
    anomalyWindows: { missing: none, unexpected: none, duplicatedPoints: none },
    content: { mismatched: none },
    scoredWindows: report.scoredWindows,
    leftOut: report.leftOut,
  });
  // Most windows are complete, so scored: an anomaly check over a handful would prove little.
  expect(report.scoredWindows).toBeGreaterThan(0.8 * expected.windows.size);
  return report;
}

const isClean = (report: ExactlyOnceReport) =>
  [report.featureWindows, report.anomalyWindows, report.content].every((part) => Object.values(part).every((s) => s.count === 0));

/**
 * Waits (polling, at most timeoutMs) until InfluxDB holds exactly the expected windows with the
 * expected content, then asserts it; on timeout the assertion reports what is missing, extra,
 * duplicated or holds other readings than were sent.
 */
export async function expectEventuallyExactlyOnce(
  influx: RunningInflux,
  expected: Expected,
  contractSensors: readonly string[],
  timeoutMs: number,
): Promise<ExactlyOnceReport> {
  const deadline = Date.now() + timeoutMs;
  let census = await takeCensus(influx);
  while (!isClean(exactlyOnceReport(census, expected, contractSensors)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    census = await takeCensus(influx);
  }
  return expectExactlyOnce(census, expected, contractSensors);
}
