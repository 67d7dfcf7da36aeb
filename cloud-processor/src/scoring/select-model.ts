// Which loaded model scores a window.
//
// Scope first. A model's contract.json may name the machines it serves (`machines`: exact ids, or
// patterns where `*` stands for any run of characters, e.g. `pump-*`). A machine that some scope names
// is served by the scoped models that name it and by no unscoped model; a machine no scope names is
// served by the unscoped models, which take any machine that carries their sensors. So a scoped model
// wins over an unscoped one for its machines: it is the more specific choice for the machine.
//
// Then sensors. Among the machine's candidates a model applies when every sensor of its contract is in
// the window (extra sensors are ignored); when several apply, the one with the most features wins, then
// the lowest model name, so the choice is stable. When none applies, the closest candidate (most of its
// sensors present) names the missing ones: a contract mismatch, not "no model", because the team should
// hear that a monitored machine lost a sensor.
//
// The mixed case: pump-3, in the scope of `pumps` (temp, vib, current), loses its current sensor while
// an unscoped `fleet` model (temp, vib) would fit its window. That is a missing-sensor mismatch of
// `pumps`, not a `fleet` score: the scope says which baseline this machine is judged against, and
// falling back to another would hide the silent sensor behind scores nobody chose for the machine. A
// scoped candidate reports its missing sensors even when none of them is present (its scope already
// says it is meant for this machine); an unscoped one only when it shares at least one sensor with the
// window (else it is simply a model of another kind of machine).
//
// No model: no model loaded, or a machine that no scope names whose window shares no sensor with any
// unscoped model (or there is none).
//
// Lifecycle (model/lifecycle.ts): a model may have a rollout version serving the machines its rollout
// names (ids or `*` patterns, as contract `machines`) in place of the serving version, and shadow
// versions scored beside whichever of the two serves the window. ServingModels says which bundles a
// machine's windows are selected among, and which shadows go with the chosen one.
import type { MachineWindow } from '@pdm/proto';
import type { ModelRole } from '../model/api.js';
import type { ModelBundle } from '../model/model-bundle.js';

export type Selection =
  | { kind: 'model'; bundle: ModelBundle }
  | { kind: 'missing_sensors'; bundle: ModelBundle; missing: string[] }
  | { kind: 'no_model' };

/** Each bundle's scope as one anchored pattern (null: serves any machine), compiled once per bundle. */
const scopes = new WeakMap<ModelBundle, RegExp | null>();

function scopeOf(bundle: ModelBundle): RegExp | null {
  let scope = scopes.get(bundle);
  if (scope === undefined) {
    scope = bundle.info.machines === undefined ? null : machinesPattern(bundle.info.machines);
    scopes.set(bundle, scope);
  }
  return scope;
}

const escapeRegExp = (literal: string) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `pump-*` → /^(?:pump-.*)$/: `*` is any run of characters (also none), everything else is literal. */
export function machinesPattern(machines: readonly string[]): RegExp {
  const alternatives = machines.map((pattern) => pattern.split('*').map(escapeRegExp).join('.*'));
  return new RegExp(`^(?:${alternatives.join('|')})$`, 's');
}

/** Orders bundles scoped first, then most features, then name; select() relies on that order. */
export function bySpecificity(bundles: Iterable<ModelBundle>): ModelBundle[] {
  const unscoped = (b: ModelBundle) => (scopeOf(b) === null ? 1 : 0);
  return [...bundles].sort(
    (a, b) =>
      unscoped(a) - unscoped(b) ||
      b.layout.reads.length - a.layout.reads.length ||
      (a.info.name < b.info.name ? -1 : a.info.name > b.info.name ? 1 : 0),
  );
}

export function selectModel(window: MachineWindow, ordered: readonly ModelBundle[]): Selection {
  const present = new Set(window.sensors.map((s) => s.sensorId));
  let closest: { bundle: ModelBundle; missing: string[]; overlap: number } | undefined;
  /** Some scope names this machine: the unscoped models (after the scoped ones) are not its candidates. */
  let claimed = false;
  for (const bundle of ordered) {
    const scope = scopeOf(bundle);
    if (scope === null) {
      if (claimed) break;
    } else if (scope.test(window.machineId)) {
      claimed = true;
    } else {
      continue;
    }
    const missing = bundle.layout.sensors.filter((id) => !present.has(id));
    if (missing.length === 0) return { kind: 'model', bundle };
    const overlap = bundle.layout.sensors.length - missing.length;
    if ((overlap > 0 || scope !== null) && (closest === undefined || overlap > closest.overlap)) closest = { bundle, missing, overlap };
  }
  return closest ? { kind: 'missing_sensors', bundle: closest.bundle, missing: closest.missing } : { kind: 'no_model' };
}

/** One model's loaded versions by role (model-set.ts). */
export interface ServedModel {
  serving: ModelBundle;
  rollout?: { bundle: ModelBundle; machines: readonly string[] };
  shadows: readonly ModelBundle[];
}

/** The served models of one registry check: each machine's candidates, and each chosen bundle's shadows. */
export class ServingModels {
  /** Without a rollout every machine has the same candidates. */
  private readonly common: ModelBundle[];
  private readonly rollouts: { model: ServedModel; bundle: ModelBundle; pattern: RegExp }[];
  /** Each machine's candidates when some model has a rollout (a registry check starts afresh). */
  private readonly perMachine = new Map<string, readonly ModelBundle[]>();
  private readonly shadows = new Map<ModelBundle, readonly ModelBundle[]>();

  constructor(private readonly models: readonly ServedModel[] = []) {
    this.common = bySpecificity(models.map((m) => m.serving));
    this.rollouts = models.flatMap((model) => (model.rollout ? [{ model, bundle: model.rollout.bundle, pattern: machinesPattern(model.rollout.machines) }] : []));
    for (const model of models) {
      for (const bundle of [model.serving, ...(model.rollout ? [model.rollout.bundle] : [])]) {
        // A version both rolled out and in shadow serves its rollout's machines: it is not its own shadow.
        this.shadows.set(bundle, model.shadows.filter((shadow) => shadow !== bundle));
      }
    }
  }

  /** The bundles `machineId` is selected among, most specific first (selectModel's order). */
  forMachine(machineId: string): readonly ModelBundle[] {
    if (this.rollouts.length === 0) return this.common;
    let candidates = this.perMachine.get(machineId);
    if (candidates === undefined) {
      const rolledOut = new Map(this.rollouts.filter((r) => r.pattern.test(machineId)).map((r) => [r.model.serving, r.bundle]));
      candidates = rolledOut.size === 0 ? this.common : bySpecificity(this.models.map((m) => rolledOut.get(m.serving) ?? m.serving));
      this.perMachine.set(machineId, candidates);
    }
    return candidates;
  }

  /** The shadow versions to score beside `bundle` when it serves a window. */
  shadowsOf(bundle: ModelBundle): readonly ModelBundle[] {
    return this.shadows.get(bundle) ?? [];
  }

  /**
   * Every loaded bundle once, with the role it has: serving, rolled out, or shadow. A version both
   * rolled out and in shadow serves its rollout's machines, so it is listed as rolled out.
   */
  all(): { bundle: ModelBundle; role: ModelRole }[] {
    const roles = new Map<ModelBundle, ModelRole>();
    for (const m of this.models) {
      roles.set(m.serving, 'serving');
      if (m.rollout) roles.set(m.rollout.bundle, 'rollout');
      for (const shadow of m.shadows) if (!roles.has(shadow)) roles.set(shadow, 'shadow');
    }
    return [...roles].map(([bundle, role]) => ({ bundle, role }));
  }
}
