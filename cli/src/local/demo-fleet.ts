// The fleet `pdm start` simulates: four pumps at 1 Hz with 1 kHz vibration, one of which develops
// an imbalance a couple of minutes after start, so a newcomer sees a fault detected and alerted.
import type { ExplicitFault, MachineSpecEntry } from '@pdm/simulator';

export const DEMO_MACHINES: MachineSpecEntry[] = [
  { id: 'pump-1', type: 'pump' },
  { id: 'pump-2', type: 'pump' },
  { id: 'pump-3', type: 'pump' },
  { id: 'pump-4', type: 'pump' },
];

export const DEMO_TICK_MS = 1_000;
export const DEMO_VIBRATION_HZ = 1_000;
export const DEMO_SEED = 42;

/** The fault that develops: onset two minutes after start, failure twenty minutes later. */
export function demoFault(startMs: number): ExplicitFault {
  return { machine: 'pump-3', fault: 'imbalance', onset: startMs + 2 * 60_000, failure: startMs + 22 * 60_000 };
}
