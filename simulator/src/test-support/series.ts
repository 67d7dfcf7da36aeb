// Test helpers: run one machine through virtual time and collect its readings as plain arrays.
import type { FaultKind, FaultPlan } from '../faults/catalogue.js';
import { Machine } from '../fleet/machine.js';
import type { LowRateSensor, MachineType, SensorId } from '../fleet/machine-types.js';
import { summariseVibration } from '../output/vibration-summary.js';

export const HOUR = 3_600_000;
export const START = Date.UTC(2024, 0, 1);

export interface Series {
  ts: number[];
  load: number[];
  running: boolean[];
  values: Record<LowRateSensor, (number | undefined)[]>;
  rms: number[];
  kurtosis: number[];
}

export function fault(fault: FaultKind, onsetH: number, failureH: number, sensors: SensorId[] = []): FaultPlan {
  return {
    machine: 'm-1',
    fault,
    onset: START + onsetH * HOUR,
    failure: START + failureH * HOUR,
    recovered: START + (failureH + 1) * HOUR,
    sensors,
  };
}

export function simulateMachine(
  type: MachineType,
  hours: number,
  faults: FaultPlan[] = [],
  { seed = 1, vibrationHz = 500, tickMs = 1000 } = {},
): Series {
  const m = new Machine({ id: 'm-1', type, seed, startMs: START, tickMs, vibrationHz, faults });
  const s: Series = {
    ts: [],
    load: [],
    running: [],
    values: { bearing_temp: [], current: [], pressure: [], flow: [], speed: [] },
    rms: [],
    kurtosis: [],
  };
  for (let ts = START; ts < START + hours * HOUR; ts += tickMs) {
    const tick = m.step(ts);
    s.ts.push(ts);
    s.load.push(tick.load);
    s.running.push(tick.running);
    for (const key of Object.keys(s.values) as LowRateSensor[]) s.values[key].push(tick.values[key]);
    const v = summariseVibration(tick.vibration);
    s.rms.push(v.rms);
    s.kurtosis.push(v.kurtosis);
  }
  return s;
}

/** Indices of ticks in [fromH, toH) hours after START. */
export function hours(s: Series, fromH: number, toH: number): number[] {
  const out: number[] = [];
  s.ts.forEach((ts, i) => {
    if (ts >= START + fromH * HOUR && ts < START + toH * HOUR) out.push(i);
  });
  return out;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return mean(xs.map((x) => (x - m) ** 2));
}

export function pick(xs: readonly (number | undefined)[], idx: readonly number[]): number[] {
  return idx.map((i) => xs[i]).filter((x): x is number => x !== undefined);
}

export function correlation(a: readonly number[], b: readonly number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = (a[i] ?? 0) - ma;
    const db = (b[i] ?? 0) - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}
