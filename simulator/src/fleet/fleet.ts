// A fleet: machine ids and types from a count and a type mix, and the Machines that simulate them.
import type { FaultPlan } from '../faults/catalogue.js';
import type { MachineSpecEntry } from '../faults/schedule.js';
import { Machine, type MachineTick } from './machine.js';
import { MACHINE_TYPES, type MachineType } from './machine-types.js';
import type { RegimeParams } from './regime.js';

/** `count` machines split by `mix` weights (largest remainder), named like pump-0001, motor-0002. */
export function fleetFromMix(count: number, mix: Partial<Record<MachineType, number>>): MachineSpecEntry[] {
  const types = MACHINE_TYPES.filter((t) => (mix[t] ?? 0) > 0);
  const total = types.reduce((sum, t) => sum + (mix[t] ?? 0), 0);
  const exact = types.map((t) => (count * (mix[t] ?? 0)) / total);
  const counts = exact.map(Math.floor);
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  const shortfall = count - counts.reduce((a, b) => a + b, 0);
  for (let k = 0; k < shortfall; k++) {
    const slot = byRemainder[k]?.i ?? 0;
    counts[slot] = (counts[slot] ?? 0) + 1;
  }
  // Interleave the types so a prefix of the fleet (or one gateway's share) is itself mixed.
  const entries: MachineSpecEntry[] = [];
  const remaining = [...counts];
  while (entries.length < count) {
    types.forEach((type, i) => {
      if ((remaining[i] ?? 0) > 0) {
        remaining[i] = (remaining[i] ?? 0) - 1;
        entries.push({ id: `${type}-${String(entries.length + 1).padStart(4, '0')}`, type });
      }
    });
  }
  return entries;
}

export interface FleetOptions {
  seed: number;
  startMs: number;
  tickMs: number;
  vibrationHz: number;
  machines: readonly MachineSpecEntry[];
  faults: readonly FaultPlan[];
  regime?: RegimeParams;
}

export class Fleet {
  readonly machines: Machine[];

  constructor(o: FleetOptions) {
    this.machines = o.machines.map(
      (m) =>
        new Machine({
          id: m.id,
          type: m.type,
          seed: o.seed,
          startMs: o.startMs,
          tickMs: o.tickMs,
          vibrationHz: o.vibrationHz,
          faults: o.faults.filter((f) => f.machine === m.id),
          ...(o.regime ? { regime: o.regime } : {}),
        }),
    );
  }

  /** Every machine's readings at virtual time `ts`; call with increasing `ts`, one tick apart. */
  tick(ts: number): MachineTick[] {
    return this.machines.map((m) => m.step(ts));
  }
}
