// Each fault against the same machine healthy: same seed and id, so regime, load and noise streams
// are identical and any difference is the fault's doing.
import { describe, expect, it } from 'vitest';
import { fault, hours, mean, pick, simulateMachine, variance } from '../test-support/series.js';

const healthy = simulateMachine('pump', 6);

describe('fault signatures', () => {
  it('bearing wear raises vibration RMS and kurtosis over hours, most near failure', () => {
    const worn = simulateMachine('pump', 6, [fault('bearing_wear', 1, 6)]);
    const early = hours(worn, 1.5, 2);
    const late = hours(worn, 5, 6);
    const rms = (s: typeof worn, idx: number[]) => mean(idx.map((i) => s.rms[i] ?? 0));
    const kurt = (s: typeof worn, idx: number[]) => mean(idx.map((i) => s.kurtosis[i] ?? 0));
    expect(rms(worn, late)).toBeGreaterThan(2 * rms(healthy, late));
    expect(kurt(worn, late)).toBeGreaterThan(kurt(healthy, late) + 1.5);
    expect(rms(worn, late)).toBeGreaterThan(rms(worn, early));
    // Before onset nothing differs.
    const before = hours(worn, 0, 1);
    expect(before.map((i) => worn.rms[i])).toEqual(before.map((i) => healthy.rms[i]));
  });

  it('imbalance steps vibration RMS up at onset', () => {
    const s = simulateMachine('pump', 3, [fault('imbalance', 1, 3)]);
    const justAfter = hours(s, 1, 1.1);
    const justBefore = hours(s, 0.9, 1);
    const ratio = (idx: number[]) => mean(idx.map((i) => (s.rms[i] ?? 0) / (healthy.rms[i] ?? 1)));
    expect(ratio(justBefore)).toBeCloseTo(1, 5);
    expect(ratio(justAfter)).toBeGreaterThan(1.5);
  });

  it('misalignment raises vibration RMS', () => {
    const s = simulateMachine('pump', 3, [fault('misalignment', 1, 3)]);
    const idx = hours(s, 2, 3);
    expect(mean(idx.map((i) => s.rms[i] ?? 0))).toBeGreaterThan(1.3 * mean(idx.map((i) => healthy.rms[i] ?? 0)));
  });

  it('overheating raises bearing temperature at equal load', () => {
    const s = simulateMachine('pump', 6, [fault('overheating', 1, 6)]);
    const idx = hours(s, 5, 6);
    expect(idx.map((i) => s.load[i])).toEqual(idx.map((i) => healthy.load[i]));
    const excess = mean(pick(s.values.bearing_temp, idx)) - mean(pick(healthy.values.bearing_temp, idx));
    expect(excess).toBeGreaterThan(10);
    // The current (the load's electrical signature) is unchanged: the heat is not explained by load.
    expect(pick(s.values.current, idx)).toEqual(pick(healthy.values.current, idx));
  });

  it('cavitation makes pressure and flow noisy and pulls pressure down', () => {
    const s = simulateMachine('pump', 4, [fault('cavitation', 1, 4)]);
    const idx = hours(s, 2, 4);
    const residual = (sensor: 'pressure' | 'flow') =>
      idx.map((i) => (s.values[sensor][i] ?? 0) - (healthy.values[sensor][i] ?? 0));
    const healthyNoise = (sensor: 'pressure' | 'flow') => {
      const xs = pick(healthy.values[sensor], idx);
      return variance(xs.slice(1).map((x, k) => x - (xs[k] ?? 0))) / 2;
    };
    expect(variance(residual('pressure'))).toBeGreaterThan(5 * healthyNoise('pressure'));
    expect(variance(residual('flow'))).toBeGreaterThan(5 * healthyNoise('flow'));
    expect(mean(residual('pressure'))).toBeLessThan(0);
  });

  it('a failed machine is down for repair, then runs healthy again', () => {
    const s = simulateMachine('pump', 6, [fault('imbalance', 1, 3)]);
    const down = hours(s, 3.05, 4);
    expect(down.every((i) => !s.running[i])).toBe(true);
    const back = hours(s, 4.1, 6).filter((i) => healthy.running[i]);
    expect(back.length).toBeGreaterThan(0);
    expect(back.every((i) => s.running[i])).toBe(true);
  });

  it('sensor faults: stuck, drop-out, spikes and drift are visible on the one sensor', () => {
    const idx = hours(healthy, 2, 3);
    const stuck = simulateMachine('pump', 3, [fault('sensor_stuck', 2, 3, ['pressure'])]);
    expect(new Set(pick(stuck.values.pressure, idx)).size).toBe(1);
    expect(new Set(pick(healthy.values.pressure, idx)).size).toBeGreaterThan(100);
    expect(pick(stuck.values.flow, idx)).toEqual(pick(healthy.values.flow, idx));

    const dropout = simulateMachine('pump', 3, [fault('sensor_dropout', 2, 3, ['current'])]);
    const missing = idx.filter((i) => dropout.values.current[i] === undefined).length;
    expect(missing / idx.length).toBeGreaterThan(0.3);
    expect(idx.every((i) => healthy.values.current[i] !== undefined)).toBe(true);

    const spikes = simulateMachine('pump', 3, [fault('sensor_spikes', 2, 3, ['flow'])]);
    const jumps = idx.filter((i) => Math.abs((spikes.values.flow[i] ?? 0) - (healthy.values.flow[i] ?? 0)) > 20);
    expect(jumps.length).toBeGreaterThan(0.03 * idx.length);

    const drift = simulateMachine('pump', 3, [fault('sensor_drift', 2, 3, ['bearing_temp'])]);
    const last = hours(drift, 2.9, 3);
    const gain = mean(pick(drift.values.bearing_temp, last)) / mean(pick(healthy.values.bearing_temp, last));
    expect(gain).toBeGreaterThan(1.15);
  });
});
