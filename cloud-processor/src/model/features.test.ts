import { CloseReason, create, MachineWindowSchema } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { deriveContract, TrainingDataError } from './derive-contract.js';
import { extractFeatures, layoutOf, parseFeatureName } from './features.js';
import { simulatePump } from './synthetic-pump.js';

const pump = simulatePump({ seed: 11, windows: 30 });

describe('deriveContract', () => {
  it('takes every sensor present in all windows with level and fluctuation statistics at 1 Hz', () => {
    const { contract, windows } = deriveContract(pump.windows);
    expect(contract.windowMs).toBe(10_000);
    expect(contract.featureVersion).toBe(1);
    expect(windows).toHaveLength(30);
    const sensors = [...new Set(contract.featureNames.map((n) => parseFeatureName(n).sensorId))];
    expect(sensors).toEqual(['current', 'flow', 'pressure', 'temp', 'vib']);
    expect(contract.featureNames).toContain('temp.mean');
    expect(contract.featureNames).toContain('temp.std');
    // 10 readings per window: kurtosis would be sampling noise, so it is not used.
    expect(contract.featureNames).not.toContain('vib.kurtosis');
  });

  it('adds shape statistics for a high-rate vibration sensor only', () => {
    const { contract } = deriveContract(simulatePump({ seed: 3, windows: 20, vibrationHz: 200 }).windows);
    expect(contract.featureNames).toContain('vib.kurtosis');
    expect(contract.featureNames).toContain('vib.crest_factor');
    expect(contract.featureNames).not.toContain('temp.kurtosis');
  });

  it('drops a rarely present sensor and the windows missing a contract sensor', () => {
    const windows = pump.windows.map((w, i) => {
      const copy = create(MachineWindowSchema, { ...w, sensors: [...w.sensors] });
      if (i === 4) copy.sensors = copy.sensors.filter((s) => s.sensorId !== 'flow');
      if (i < 3) copy.sensors.push({ ...w.sensors[0]!, sensorId: 'spare' });
      return copy;
    });
    const { contract, windows: used, skipped } = deriveContract(windows, { sensorPresence: 0.9 });
    expect(contract.featureNames.some((n) => n.startsWith('spare.'))).toBe(false);
    expect(contract.featureNames).toContain('flow.mean');
    expect(used).toHaveLength(29);
    expect(skipped['missing a contract sensor']).toBe(1);
  });

  it('skips partial windows when there are enough complete ones', () => {
    const windows = pump.windows.map((w, i) => (i % 10 === 0 ? create(MachineWindowSchema, { ...w, closeReason: CloseReason.IDLE_TIMEOUT }) : w));
    const { windows: used } = deriveContract(windows, { minCompleteWindows: 20 });
    expect(used).toHaveLength(27);
    expect(used.every((w) => w.closeReason === CloseReason.WATERMARK)).toBe(true);
  });

  it('refuses an empty training set with a clear error', () => {
    expect(() => deriveContract([])).toThrow(TrainingDataError);
  });
});

describe('extractFeatures', () => {
  const { contract } = deriveContract(pump.windows);
  const layout = layoutOf(contract);
  const out = new Float64Array(contract.featureNames.length);
  const window = pump.windows[0]!;

  it('reads the statistics in contract order', () => {
    expect(extractFeatures(window, layout, out, 0)).toBeNull();
    const temp = window.sensors.find((s) => s.sensorId === 'temp')!;
    expect(out[contract.featureNames.indexOf('temp.mean')]).toBe(temp.mean);
    expect(out[contract.featureNames.indexOf('temp.std')]).toBe(temp.std);
  });

  it('names the missing sensor instead of imputing it', () => {
    const silent = create(MachineWindowSchema, { ...window, sensors: window.sensors.filter((s) => s.sensorId !== 'temp') });
    expect(extractFeatures(silent, layout, out, 0)).toEqual({ code: 'missing_sensor', reason: expect.stringContaining("'temp'") as string });
  });

  it('refuses another feature version, window size, an incomplete sensor and a non-finite statistic', () => {
    const v2 = create(MachineWindowSchema, { ...window, featureVersion: 2 });
    expect(extractFeatures(v2, layout, out, 0)?.reason).toBe('feature_version 2, model expects 1');
    const longer = create(MachineWindowSchema, { ...window, windowEnd: window.windowStart + 60_000n });
    expect(extractFeatures(longer, layout, out, 0)?.reason).toBe('window of 60000 ms, model expects 10000 ms');
    const sparse = create(MachineWindowSchema, {
      ...window,
      sensors: window.sensors.map((s) => (s.sensorId === 'flow' ? { ...s, count: 3, expectedCount: 10 } : s)),
    });
    expect(extractFeatures(sparse, layout, out, 0)).toEqual({ code: 'incomplete_sensor', reason: "sensor 'flow' has 3 of 10 expected readings" });
    const nan = create(MachineWindowSchema, { ...window, sensors: window.sensors.map((s) => (s.sensorId === 'vib' ? { ...s, std: NaN } : s)) });
    expect(extractFeatures(nan, layout, out, 0)).toEqual({ code: 'non_finite', reason: 'vib.std is NaN' });
  });
});
