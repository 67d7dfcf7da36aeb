// A small machine for the T² tests: three sensors at 1 Hz around known levels, `b` following `a`, with
// an optional offset added to one sensor per window (a step, a ramp). Seeded, so runs repeat exactly.
import type { MachineWindow } from '@pdm/proto';
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
