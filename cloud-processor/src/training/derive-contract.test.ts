import { CloseReason, create, MachineWindowSchema } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { parseFeatureName } from '../model/features.js';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { deriveContract, TrainingDataError } from './derive-contract.js';

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
