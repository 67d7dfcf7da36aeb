import { create, MachineWindowSchema } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { extractFeatures, isStatisticName, layoutOf } from './features.js';

const pump = simulatePump({ seed: 11, windows: 30 });

describe('extractFeatures', () => {
  // The contract training derives from 1 Hz pump windows: level and fluctuation of every sensor.
  const contract = { featureNames: ['current', 'flow', 'pressure', 'temp', 'vib'].flatMap((s) => [`${s}.mean`, `${s}.std`]), windowMs: 10_000, featureVersion: 1 };
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

describe('statistic names', () => {
  it('are the SensorStats statistics of the contract, without the counts', () => {
    for (const stat of ['mean', 'std', 'variance', 'min', 'max', 'rms', 'peak_to_peak', 'skewness', 'kurtosis', 'crest_factor']) expect(isStatisticName(stat)).toBe(true);
    for (const notStat of ['count', 'expected_count', 'late_count', 'peakToPeak', 'median']) expect(isStatisticName(notStat)).toBe(false);
  });
});
