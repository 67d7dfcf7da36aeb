import { describe, expect, it } from 'vitest';
import type { FeatureProfileFile } from '../model/feature-profile.js';
import type { ModelBundle } from '../model/model-bundle.js';
import { DriftAccumulator, DriftMonitor } from './drift.js';

/** One feature split at 0, half the training windows on each side. */
const halves: FeatureProfileFile = { featureNames: ['vib.rms'], windows: 100, features: [{ edges: [0], shares: [0.5, 0.5] }] };

/** What DriftMonitor reads of a bundle: its name, version and profile. */
const bundle = (name: string, version: string, profile?: FeatureProfileFile) =>
  ({ info: { name, version }, ...(profile ? { profile } : {}) }) as unknown as ModelBundle;

describe('DriftAccumulator', () => {
  it('counts only the newest windows, forgetting the oldest as new ones arrive', () => {
    const acc = new DriftAccumulator(halves, 4);
    for (const v of [-1, -1, -1, -1]) acc.add([v]);
    expect(acc.windows).toBe(4);
    // [−1, −1, −1, −1]: all below 0 → shares [1, 0]: 0.5·ln 2 + (1e-4 − 0.5)·ln(1e-4 / 0.5), the empty bin floored.
    expect(acc.psi()[0]).toBeCloseTo(0.5 * Math.log(2) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5), 9);
    acc.add([1]);
    acc.add([1]);
    // The ring now holds [−1, −1, 1, 1]: the training shares exactly.
    expect(acc.windows).toBe(4);
    expect(acc.psi()[0]).toBe(0);
    acc.add([1]);
    // [−1, 1, 1, 1] → [0.25, 0.75]: 0.25·ln 2 + 0.25·ln 1.5 (by hand).
    expect(acc.psi()[0]).toBeCloseTo(0.2746530722, 9);
  });
});

describe('DriftMonitor', () => {
  const twoFeatures: FeatureProfileFile = {
    featureNames: ['temp.mean', 'vib.rms'],
    windows: 100,
    features: [{ edges: [0], shares: [0.5, 0.5] }, { edges: [0], shares: [0.5, 0.5] }],
  };

  it('reports each version once it counted minWindows, with its worst feature', () => {
    const monitor = new DriftMonitor({ windows: 4, minWindows: 2 });
    const model = bundle('pump', '3', twoFeatures);
    monitor.observe(model, [-1, -1]);
    expect(monitor.report()).toEqual([]);
    monitor.observe(model, [1, -1]);
    // temp.mean [−1, 1]: as trained (0); vib.rms [−1, −1]: all in one bin.
    const vibPsi = 0.5 * Math.log(2) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5);
    const [report] = monitor.report();
    expect(report).toMatchObject({ model: 'pump', version: '3', windows: 2, feature: 'vib.rms' });
    expect(report!.psi).toBeCloseTo(vibPsi, 9);
    expect(report!.features['temp.mean']).toBe(0);
    expect(report!.features['vib.rms']).toBeCloseTo(vibPsi, 9);
  });

  it('ignores models without a profile, keeps versions apart and forgets retired ones', () => {
    const monitor = new DriftMonitor({ windows: 4, minWindows: 1 });
    monitor.observe(bundle('old', '1'), [5]);
    monitor.observe(bundle('pump', '3', halves), [-1]);
    monitor.observe(bundle('pump', '4', halves), [1]);
    expect(monitor.report().map((r) => `${r.model}@${r.version}`)).toEqual(['pump@3', 'pump@4']);
    monitor.retainOnly([{ name: 'pump', version: '4' }]);
    expect(monitor.report().map((r) => `${r.model}@${r.version}`)).toEqual(['pump@4']);
  });

  it('starts a version afresh when it is reloaded with another profile', () => {
    const monitor = new DriftMonitor({ windows: 4, minWindows: 1 });
    monitor.observe(bundle('pump', '3', halves), [-1]);
    monitor.observe(bundle('pump', '3', halves), [-1]);
    monitor.observe(bundle('pump', '3', { ...halves }), [1]);
    expect(monitor.report()[0]?.windows).toBe(1);
  });
});
