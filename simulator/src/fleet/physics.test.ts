import { describe, expect, it } from 'vitest';
import { HOUR, START, correlation, hours, mean, pick, simulateMachine } from '../test-support/series.js';
import { Fleet, fleetFromMix } from './fleet.js';
import { MACHINE_SPECS } from './machine-types.js';

function fleetTicks(seed: number, n: number) {
  const machines = fleetFromMix(4, { pump: 1, motor: 1, fan: 1, compressor: 1 });
  const fleet = new Fleet({ seed, startMs: START, tickMs: 1000, vibrationHz: 1000, machines, faults: [] });
  return Array.from({ length: n }, (_, i) =>
    fleet.tick(START + i * 1000).map((t) => ({ ...t, vibration: Array.from(t.vibration) })),
  );
}

describe('fleet physics', () => {
  it('is deterministic: the same seed gives identical readings, another seed different ones', () => {
    const a = fleetTicks(42, 120);
    expect(fleetTicks(42, 120)).toEqual(a);
    const b = fleetTicks(43, 120);
    expect(b).not.toEqual(a);
    expect(b[0]?.[0]?.values.current).not.toBe(a[0]?.[0]?.values.current);
  });

  it('splits a fleet by type weights and names machines by type', () => {
    const entries = fleetFromMix(10, { pump: 3, fan: 1 });
    expect(entries.filter((e) => e.type === 'pump')).toHaveLength(8);
    expect(entries.filter((e) => e.type === 'fan')).toHaveLength(2);
    expect(new Set(entries.map((e) => e.id)).size).toBe(10);
    expect(entries[0]?.id).toMatch(/^pump-\d{4}$/);
    // Remainders: 2 machines over 4 equal weights still gives 2 machines.
    expect(fleetFromMix(2, { pump: 1, motor: 1, fan: 1, compressor: 1 }).map((e) => e.type)).toEqual(['pump', 'motor']);
  });

  it('reports every sensor of each machine type, in physical ranges', () => {
    for (const [type, spec] of Object.entries(MACHINE_SPECS)) {
      const s = simulateMachine(type as keyof typeof MACHINE_SPECS, 0.5);
      for (const sensor of spec.sensors) expect(s.values[sensor].every((v) => v !== undefined)).toBe(true);
      const running = s.running.map((r, i) => (r ? i : -1)).filter((i) => i >= 0);
      const current = pick(s.values.current, running);
      expect(Math.min(...current)).toBeGreaterThan(spec.noLoadCurrentA * 0.8);
      expect(Math.max(...current)).toBeLessThan(spec.ratedCurrentA * 1.15);
      expect(mean(s.rms)).toBeGreaterThan(0.02);
    }
  });

  it('couples load to current at once and to bearing temperature through a thermal lag', () => {
    const s = simulateMachine('motor', 48, [], { vibrationHz: 50 });
    const all = hours(s, 0, 48);
    const load = all.map((i) => s.load[i] ?? 0);
    const current = pick(s.values.current, all);
    const temp = pick(s.values.bearing_temp, all);
    expect(correlation(load, current)).toBeGreaterThan(0.95);

    // Temperature follows current with a delay of the order of the thermal time constant (20 min):
    // its correlation with current some minutes earlier beats the same-instant one.
    const lagS = 15 * 60;
    const lagged = correlation(current.slice(0, -lagS), temp.slice(lagS));
    const instant = correlation(current, temp);
    expect(lagged).toBeGreaterThan(instant);
    expect(lagged).toBeGreaterThan(0.5);
  });

  it('starts and stops: a stopped machine draws no current and its shaft stands still', () => {
    const s = simulateMachine('pump', 72, [], { vibrationHz: 50 });
    const stoppedAt = s.running.findIndex((r) => !r);
    expect(stoppedAt).toBeGreaterThan(0);
    // 60 s after a stop the shaft has spun down (τ = 4 s).
    const later = stoppedAt + 60;
    expect(s.running[later]).toBe(false);
    expect(s.values.current[later]).toBeLessThan(1);
    expect(s.values.speed[later]).toBeLessThan(10);
    expect(s.ts[later]).toBeLessThan(START + 72 * HOUR);
  });
});
