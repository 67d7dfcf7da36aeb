// A small machine for the T² tests: three sensors at 1 Hz around known levels, `b` following `a`, with
// an optional offset added to one sensor per window (a step, a ramp). Seeded, so runs repeat exactly.
import { create, MachineWindowSchema, type MachineWindow } from '@pdm/proto';
import { expect } from 'vitest';
import type { ModelScorer } from '../scoring/scorer.js';
import { gaussian } from './synthetic-pump.js';
import { windowOfReadings } from './windows.js';

export const LEVEL_WINDOW_MS = 10_000;

export interface LevelMachineOptions {
  seed: number;
  windows: number;
  /** Epoch ms of the first window. */
  startMs?: number;
  machineId?: string;
  /** Added to sensor `a`'s readings in window w (0 when absent). */
  offsetA?: (w: number) => number;
}

export function levelMachineWindows(options: LevelMachineOptions): MachineWindow[] {
  const rand = gaussian(options.seed);
  const start = options.startMs ?? 1_700_000_000_000;
  const out: MachineWindow[] = [];
  for (let w = 0; w < options.windows; w++) {
    const series: Record<string, number[]> = { a: [], b: [], c: [] };
    const offset = options.offsetA?.(w) ?? 0;
    for (let s = 0; s < LEVEL_WINDOW_MS / 1000; s++) {
      const a = 100 + rand();
      series['a']!.push(a + offset);
      series['b']!.push(0.5 * a + 0.2 * rand());
      series['c']!.push(20 + 0.2 * rand());
    }
    out.push(windowOfReadings({ machineId: options.machineId ?? 'm-1', startMs: start + w * LEVEL_WINDOW_MS, windowMs: LEVEL_WINDOW_MS, readings: series }));
  }
  return out;
}

/**
 * What every model kind answers the level machine's windows that do not fit model level@1's contract —
 * sensor `b` silent, a window of 60 s — checked on `scorer`, which scores neither.
 */
export async function expectContractRefusals(scorer: ModelScorer, startMs: number): Promise<void> {
  const w = levelMachineWindows({ seed: 7, windows: 1, startMs })[0]!;
  const silent = create(MachineWindowSchema, { ...w, sensors: w.sensors.filter((s) => s.sensorId !== 'b') });
  expect(await scorer.score(silent)).toEqual({ kind: 'contract_mismatch', reason: "model level@1: missing sensor 'b': no readings in this window (silent sensor?)" });
  const longer = create(MachineWindowSchema, { ...w, windowEnd: w.windowStart + 60_000n });
  expect(await scorer.score(longer)).toEqual({ kind: 'contract_mismatch', reason: 'model level@1: window of 60000 ms, model expects 10000 ms' });
  expect(scorer.stats()).toMatchObject({ scored: 0, mismatches: { missing_sensor: 1, window_size: 1 } });
}
