import type { MachineWindow } from '@pdm/proto';
import { ManualClock } from '@pdm/clock';
import { WindowEngine } from '../engine.js';
import type { WindowEngineOptionsInput } from '../options.js';

/** An aligned epoch time (a multiple of every window size used in the tests), in 2023. */
export const T0 = 1_700_000_000_000;

export interface Harness {
  engine: WindowEngine;
  clock: ManualClock;
  windows: MachineWindow[];
}

/** A WindowEngine on a manual clock that records what it emits. */
export function harness(options: Partial<WindowEngineOptionsInput> = {}): Harness {
  const clock = new ManualClock(T0);
  const windows: MachineWindow[] = [];
  const engine = new WindowEngine({ gatewayId: 'gw-1', siteId: 'site-a', clock, ...options }, (w) => windows.push(w));
  return { engine, clock, windows };
}

/** Window bounds relative to T0, for short assertions. */
export function bounds(w: MachineWindow): [number, number] {
  return [Number(w.windowStart) - T0, Number(w.windowEnd) - T0];
}
