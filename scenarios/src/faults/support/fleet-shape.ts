// The shape of the load every fault test drives: a fleet of pumps sampled at 4 Hz with 200 Hz
// vibration blocks, cut into 1 s windows by the gateway. Small windows and a real-time fleet make
// windows close continuously (about one per machine per second) while a fault is in progress.
import type { MachineSpecEntry } from '@pdm/simulator';

export const FLEET_SIZE = 30;
export const TICK_MS = 250;
export const VIBRATION_HZ = 200;
export const WINDOW_MS = 1_000;
export const FLEET_SEED = 8;

export const FLEET: MachineSpecEntry[] = Array.from({ length: FLEET_SIZE }, (_, i) => ({ id: `pump-${String(i + 1).padStart(2, '0')}`, type: 'pump' }));
