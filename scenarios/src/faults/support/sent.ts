// What the fleet sent, reading by reading, kept per (machine, sensor, window) in sending order: the
// expected content of every window, from the simulator's own record and never from the system's
// output. The CSV files list every tick the run sent (a tick is written there as it is published);
// the vibration blocks are not in them (only their summaries), so the simulator's deterministic fleet
// is replayed from the run's seed over exactly those ticks, and each replayed tick must reproduce its
// CSV row character for character: the replay is the record, checked against it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvRow, Fleet, type FleetOptions, VIBRATION } from '@pdm/simulator';
import { WINDOW_MS } from './fleet-shape.js';
import { type WindowKey, windowKey } from './windows.js';

/** window → sensor → the values sent for it, in sending order. */
export type SentReadings = Map<WindowKey, Map<string, number[]>>;

/** The fleet the run drove, the folder of its CSV record, and the sensors whose clock was off. */
export interface SentRun extends FleetOptions {
  csvDir: string;
  /** machine → sensor → ms its device added to each ts it sent (the CSV records the true ts). */
  sensorClockSkewMs?: Record<string, Record<string, number>> | undefined;
}

export function readingsSent(run: SentRun): SentReadings {
  const sent: SentReadings = new Map();
  const add = (machine: string, sensor: string, trueTs: number, value: number) => {
    const ts = trueTs + (run.sensorClockSkewMs?.[machine]?.[sensor] ?? 0); // as sent
    const key = windowKey(machine, Math.floor(ts / WINDOW_MS) * WINDOW_MS);
    const sensors = sent.get(key) ?? new Map<string, number[]>();
    sent.set(key, sensors);
    const values = sensors.get(sensor) ?? [];
    sensors.set(sensor, values);
    values.push(value);
  };
  const rows = new Map(run.machines.map((m) => [m.id, readFileSync(join(run.csvDir, `${m.id}.csv`), 'utf8').trimEnd().split('\n').slice(1)]));
  const ticks = Math.max(0, ...[...rows.values()].map((r) => r.length));
  const fleet = new Fleet(run);
  for (let i = 0; i < ticks; i++) {
    for (const tick of fleet.tick(run.startMs + i * run.tickMs)) {
      const row = rows.get(tick.machine)?.[i];
      if (row === undefined) continue; // the run stopped before this machine's tick went out
      const type = run.machines.find((m) => m.id === tick.machine)?.type ?? 'pump';
      const replayed = csvRow(type, tick);
      if (replayed !== row) throw new Error(`${tick.machine}.csv row ${i + 1}: the replayed tick reads "${replayed}", the record "${row}"`);
      for (const [sensor, value] of Object.entries(tick.values)) add(tick.machine, sensor, tick.ts, value);
      // The gateway times sample j of a block at ts + j/hz; so does the expectation.
      tick.vibration.forEach((value, j) => add(tick.machine, VIBRATION, tick.ts + (j * 1000) / tick.vibrationHz, value));
    }
  }
  return sent;
}

export interface WindowStats {
  count: number;
  mean: number;
  /** Population variance, as the gateway reports it. */
  variance: number;
}

export interface ExpectedStats extends WindowStats {
  /** Largest |reading|: the scale a mean near 0 is compared at. */
  peak: number;
}

/** Two passes: the mean, then the squared deviations from it. */
export function statsOf(values: readonly number[]): ExpectedStats {
  const n = values.length;
  if (n === 0) return { count: 0, mean: 0, variance: 0, peak: 0 };
  let sum = 0;
  let peak = 0;
  for (const v of values) {
    sum += v;
    peak = Math.max(peak, Math.abs(v));
  }
  const mean = sum / n;
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  return { count: n, mean, variance: squares / n, peak };
}

const RELATIVE = 1e-9;
const close = (a: number, b: number, scale = 0) => Math.abs(a - b) <= RELATIVE * Math.max(Math.abs(a), Math.abs(b), scale);

/**
 * Count exact; mean and variance within 1e-9 relative. A mean is compared at the readings' scale
 * (a vibration window's mean is ~1e-18 of readings ~0.1: its last digits are rounding in any sum),
 * and a variance below the readings' rounding resolution (peak·ε)² may be reported as the 0 it is.
 */
export function sameStats(stored: WindowStats, expected: ExpectedStats): boolean {
  const resolution = expected.peak * Number.EPSILON;
  const variance = close(stored.variance, expected.variance) || (stored.variance === 0 && expected.variance <= resolution * resolution);
  return stored.count === expected.count && close(stored.mean, expected.mean, expected.peak) && variance;
}

/**
 * How many readings a stored window lacks, if what it holds is exactly the readings sent with one
 * contiguous run of them left out (what a gateway crash can cost a window: the readings between its
 * last checkpoint and the kill, while those before and after arrive); 0 when it holds them all.
 * Undefined when no such run explains it: readings altered, added or lost elsewhere.
 */
export function readingsLeftOut(stored: WindowStats, sent: readonly number[]): number | undefined {
  const lost = sent.length - stored.count;
  if (lost < 0) return undefined;
  if (lost === 0) return sameStats(stored, statsOf(sent)) ? 0 : undefined;
  for (let start = 0; start + lost <= sent.length; start++) {
    if (sameStats(stored, statsOf([...sent.slice(0, start), ...sent.slice(start + lost)]))) return lost;
  }
  return undefined;
}
