// Model selection by scope and sensors, on bundles that carry only what selection reads (contract and
// feature layout); the scorer and processor tests cover the same rules with trained models.
import { describe, expect, it } from 'vitest';
import type { ContractFile } from '../model/artifact-schemas.js';
import { layoutOf } from '../model/features.js';
import type { ModelBundle } from '../model/model-bundle.js';
import { makeWindow } from '../test-support/windows.js';
import { bySpecificity, selectModel, ServingModels, type Selection } from './select-model.js';

function bundle(name: string, sensors: string[], machines?: string[]): ModelBundle {
  const contract = { featureNames: sensors.flatMap((s) => [`${s}.mean`, `${s}.rms`]), windowMs: 10_000, featureVersion: 1 };
  const info = { ...contract, kind: 'robust-t2', name, version: '1', ...(machines ? { machines } : {}) } as ContractFile;
  return { kind: 'robust-t2', info, layout: layoutOf(contract) } as unknown as ModelBundle;
}

/** The chosen model's name, or what selection said instead. */
function pick(selection: Selection): string {
  if (selection.kind === 'model') return selection.bundle.info.name;
  if (selection.kind === 'missing_sensors') return `${selection.bundle.info.name} missing ${selection.missing.join(',')}`;
  return 'no_model';
}

const select = (models: ModelBundle[], machine: string, sensors: readonly string[] = ['temp', 'vib', 'current']) =>
  pick(selectModel(makeWindow({ machine, sensors }), bySpecificity(models)));

describe('selectModel', () => {
  it('picks a scoped model for the machines it names, over an unscoped one with as many features and an earlier name', () => {
    const models = [bundle('fleet', ['temp', 'vib', 'current']), bundle('pumps', ['temp', 'vib', 'current'], ['pump-1', 'pump-2'])];
    expect(select(models, 'pump-1')).toBe('pumps');
    expect(select(models, 'pump-2')).toBe('pumps');
    // Without a scope the name decides, as before scopes existed: 'fleet' < 'pumps'.
    expect(select(models, 'fan-1')).toBe('fleet');
    expect(select(models, 'pump-10')).toBe('fleet');
  });

  it('orders scoped models first, then by features, then by name', () => {
    const ordered = bySpecificity([bundle('b', ['temp', 'vib']), bundle('a', ['temp']), bundle('s', ['temp'], ['m']), bundle('c', ['temp', 'vib'])]);
    expect(ordered.map((b) => b.info.name)).toEqual(['s', 'b', 'c', 'a']);
  });

  it('matches `*` against any run of characters, also none, and everything else literally', () => {
    const models = [bundle('pumps', ['temp'], ['pump-*']), bundle('lines', ['temp'], ['line.*.press', 'a+b'])];
    expect(select(models, 'pump-7', ['temp'])).toBe('pumps');
    expect(select(models, 'pump-', ['temp'])).toBe('pumps');
    expect(select(models, 'pump-north-12', ['temp'])).toBe('pumps');
    expect(select(models, 'my-pump-7', ['temp'])).toBe('no_model'); // anchored: the pattern is the whole id
    expect(select(models, 'pump7', ['temp'])).toBe('no_model');
    expect(select(models, 'line.4.press', ['temp'])).toBe('lines');
    expect(select(models, 'line.4.2.press', ['temp'])).toBe('lines');
    expect(select(models, 'lineX4.press', ['temp'])).toBe('no_model'); // '.' is a dot, not any character
    expect(select(models, 'a+b', ['temp'])).toBe('lines');
    expect(select(models, 'aab', ['temp'])).toBe('no_model');
  });

  it('says no_model for a machine outside every scope when no unscoped model is loaded', () => {
    const models = [bundle('pumps', ['temp', 'vib', 'current'], ['pump-*']), bundle('press-7', ['temp'], ['press-7'])];
    expect(select(models, 'fan-1')).toBe('no_model');
    expect(select(models, 'press-8')).toBe('no_model');
    expect(select(models, 'press-7')).toBe('press-7');
  });

  it('reports the missing sensors of a scoped model rather than falling back to an unscoped model that fits', () => {
    const models = [bundle('pumps', ['temp', 'vib', 'current'], ['pump-*']), bundle('fleet', ['temp', 'vib'])];
    expect(select(models, 'pump-3', ['temp', 'vib'])).toBe('pumps missing current');
    // Even when none of its sensors arrives: the scope says this model is meant for pump-3.
    expect(select(models, 'pump-3', ['rpm'])).toBe('pumps missing temp,vib,current');
    // A machine no scope names still falls back among the unscoped models, as before.
    expect(select(models, 'fan-1', ['temp', 'vib'])).toBe('fleet');
  });

  it('falls back among the scoped models of a machine before reporting a mismatch', () => {
    const models = [bundle('full', ['temp', 'vib', 'current'], ['pump-*']), bundle('thermal', ['temp'], ['pump-3']), bundle('fleet', ['temp', 'vib'])];
    expect(select(models, 'pump-3', ['temp', 'vib'])).toBe('thermal');
    expect(select(models, 'pump-4', ['temp', 'vib'])).toBe('full missing current');
  });

  it('keeps the unscoped rules: extra sensors ignored, a partial overlap is a mismatch, none is no_model', () => {
    const models = [bundle('fleet', ['temp', 'vib'])];
    expect(select(models, 'any', ['temp', 'vib', 'current'])).toBe('fleet');
    expect(select(models, 'any', ['temp', 'current'])).toBe('fleet missing vib');
    expect(select(models, 'any', ['current'])).toBe('no_model');
    expect(select([], 'any')).toBe('no_model');
  });
});

describe('ServingModels (lifecycle roles)', () => {
  const versioned = (name: string, version: string, sensors: string[], machines?: string[]) => {
    const b = bundle(name, sensors, machines);
    return { ...b, info: { ...b.info, version } };
  };
  const label = (b: ModelBundle) => `${b.info.name}@${b.info.version}`;

  it('serves the rollout version to the machines its patterns match and the serving version to the others', () => {
    const serving = versioned('pumps', '3', ['temp', 'vib']);
    const candidate = versioned('pumps', '4', ['temp', 'vib']);
    const fleet = versioned('fleet', '1', ['temp']);
    const models = new ServingModels([{ serving, rollout: { bundle: candidate, machines: ['pump-1', 'line2-*'] }, shadows: [] }, { serving: fleet, shadows: [] }]);
    const chosen = (machine: string) => {
      const selection = selectModel(makeWindow({ machine, sensors: ['temp', 'vib'] }), models.forMachine(machine));
      return selection.kind === 'model' ? label(selection.bundle) : selection.kind;
    };
    expect(chosen('pump-1')).toBe('pumps@4');
    expect(chosen('line2-pump')).toBe('pumps@4');
    expect(chosen('line2-')).toBe('pumps@4');
    expect(chosen('pump-10')).toBe('pumps@3');
    expect(chosen('xline2-a')).toBe('pumps@3');
    expect(chosen('pump-1')).toBe('pumps@4'); // from the per-machine cache
    expect(models.forMachine('pump-10').map(label)).toEqual(['pumps@3', 'fleet@1']);
    expect(models.forMachine('pump-1').map(label)).toEqual(['pumps@4', 'fleet@1']);
    expect(models.all().map(({ bundle, role }) => `${label(bundle)} ${role}`)).toEqual(['pumps@3 serving', 'pumps@4 rollout', 'fleet@1 serving']);
  });

  it('pairs each serving or rolled-out bundle with its model shadows, never with itself', () => {
    const serving = versioned('pumps', '3', ['temp']);
    const rolledOut = versioned('pumps', '4', ['temp']);
    const shadow = versioned('pumps', '5', ['temp']);
    const other = versioned('fans', '1', ['temp']);
    const models = new ServingModels([{ serving, rollout: { bundle: rolledOut, machines: ['pump-1'] }, shadows: [rolledOut, shadow] }, { serving: other, shadows: [] }]);
    expect(models.shadowsOf(serving).map(label)).toEqual(['pumps@4', 'pumps@5']);
    expect(models.shadowsOf(rolledOut).map(label)).toEqual(['pumps@5']);
    expect(models.shadowsOf(other)).toEqual([]);
    expect(models.shadowsOf(shadow)).toEqual([]);
    // Each loaded version once, in the role it has: rolled out although also a shadow.
    expect(models.all().map(({ bundle, role }) => `${label(bundle)} ${role}`)).toEqual(['pumps@3 serving', 'pumps@4 rollout', 'pumps@5 shadow', 'fans@1 serving']);
    // Without a rollout every machine has the same candidates.
    expect(new ServingModels([{ serving, shadows: [shadow] }]).forMachine('any').map(label)).toEqual(['pumps@3']);
  });
});
