// The changes `pdm models` makes to a model's lifecycle, as pure functions of the lifecycle and its
// history, so their rules are tested without files: promote, rollback, shadow, unshadow, rollout.
import { machinesPattern } from '../scoring/select-model.js';
import type { Lifecycle, ModelChange } from './lifecycle.js';

export type ChangeRequest =
  | { action: 'promote'; version: string }
  /** `to` unset: back to the version served before (from the history), or the end of a running rollout. */
  | { action: 'rollback'; to?: string }
  | { action: 'shadow'; version: string }
  | { action: 'unshadow'; version: string }
  | { action: 'rollout'; version: string; machines: string[] };

/** A change the lifecycle refuses (already serving, not in shadow, nothing to roll back to): the user's mistake. */
export class LifecycleChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LifecycleChangeError';
  }
}

export interface AppliedChange {
  next: Lifecycle;
  /** What history.jsonl and model_changes record, but who, when and why. */
  change: Pick<ModelChange, 'action' | 'from' | 'to' | 'machines' | 'endedRollout'>;
}

/**
 * Serving ← version, on every machine: it leaves the shadows, and any rollout ends. A rollout of this
 * version simply becomes serving everywhere; a rollout of another version would otherwise keep scoring
 * (and alerting for) its machines behind a promotion that says it serves them all — say promote 5
 * after a bad rollout of 4 — so it ends too, and the change names it (`endedRollout`) for the
 * command's output and the history.
 */
function serve(current: Lifecycle, version: string, change: AppliedChange['change']): AppliedChange {
  const { rollout } = current;
  return {
    next: { serving: version, shadow: current.shadow.filter((v) => v !== version) },
    change: { ...change, ...(rollout !== undefined && rollout.version !== version && { endedRollout: rollout }) },
  };
}

/**
 * The versions that served the whole model in turn, oldest first, rebuilt from the history: a promotion
 * pushes its version, a rollback pops back to its target (pushing it when it never served: a jump with
 * --to), a pin (a promote with from == to) pushes nothing. Rollout changes serve only some machines and
 * do not count. So a second rollback goes further back instead of undoing the first.
 */
function servingSequence(history: readonly ModelChange[]): string[] {
  const sequence: string[] = [];
  for (const change of history) {
    if (change.machines !== undefined || (change.action !== 'promote' && change.action !== 'rollback')) continue;
    if (sequence.length === 0 && change.from !== undefined) sequence.push(change.from);
    if (change.action === 'promote') {
      if (change.from !== change.to) sequence.push(change.to);
      continue;
    }
    sequence.pop();
    const back = sequence.lastIndexOf(change.to);
    if (back >= 0) sequence.length = back + 1;
    else sequence.push(change.to);
  }
  return sequence;
}

/** The version that served before `serving` in the serving sequence the history tells; undefined when none did. */
export function servedBefore(history: readonly ModelChange[], serving: string): string | undefined {
  const sequence = servingSequence(history);
  const at = sequence.lastIndexOf(serving);
  return at > 0 ? sequence[at - 1] : undefined;
}

/**
 * `written`: whether `current` comes from the model's lifecycle file; without one the newest version
 * serves, and promoting that version pins it (the file gets written, so a version trained next waits).
 */
export function applyChange(name: string, current: Lifecycle, request: ChangeRequest, history: readonly ModelChange[], { written = true } = {}): AppliedChange {
  const { serving } = current;
  const isServing = (version: string) => {
    if (version === serving) throw new LifecycleChangeError(`${name}@${version} is the serving version`);
  };
  switch (request.action) {
    case 'promote':
      // A pin is recorded as a promotion from the version to itself: servedBefore skips it.
      if (!written && request.version === serving) return { next: current, change: { action: 'promote', from: serving, to: serving } };
      isServing(request.version);
      return serve(current, request.version, { action: 'promote', from: serving, to: request.version });
    case 'rollback': {
      const { rollout } = current;
      if (request.to === undefined && rollout !== undefined) {
        // Undoing a gradual rollout: its machines go back to the serving version.
        const { rollout: _ended, ...rest } = current;
        return { next: rest, change: { action: 'rollback', from: rollout.version, to: serving, machines: rollout.machines } };
      }
      const target = request.to ?? servedBefore(history, serving);
      if (target === undefined) throw new LifecycleChangeError(`${name}: the history names no version served before ${serving}; say which with --to VERSION`);
      isServing(target);
      return serve(current, target, { action: 'rollback', from: serving, to: target });
    }
    case 'shadow':
      isServing(request.version);
      if (current.shadow.includes(request.version)) throw new LifecycleChangeError(`${name}@${request.version} is already in shadow`);
      if (current.shadow.length > 0) throw new LifecycleChangeError(`${name}@${current.shadow[0]} is in shadow; unshadow it first (one shadow version per model: anomaly_shadow holds one score per window)`);
      return { next: { ...current, shadow: [...current.shadow, request.version] }, change: { action: 'shadow', to: request.version } };
    case 'unshadow':
      if (!current.shadow.includes(request.version)) throw new LifecycleChangeError(`${name}@${request.version} is not in shadow (shadow: ${current.shadow.join(', ') || 'none'})`);
      return { next: { ...current, shadow: current.shadow.filter((v) => v !== request.version) }, change: { action: 'unshadow', to: request.version } };
    case 'rollout':
      isServing(request.version);
      if (request.machines.length === 0) throw new LifecycleChangeError(`${name}: a rollout needs the machines it serves (--machines 'pump-1,line2-*')`);
      return {
        next: { ...current, rollout: { version: request.version, machines: request.machines } },
        change: { action: 'rollout', from: serving, to: request.version, machines: request.machines },
      };
  }
}

/**
 * The rollout `machines` (ids or `*` patterns) that reach beyond the candidate's scope (contract.json
 * `machines`; undefined: any machine). On those machines the candidate takes the serving version's
 * place but its scope refuses them, so no version of the model would score them. A pattern is inside
 * the scope when the scope matches its very text: a scope `*` also stands for the pattern's `*`, so
 * `pump-*` is inside `pump-*` or `*`, but not inside `pump-1`.
 */
export function outsideScope(scope: readonly string[] | undefined, machines: readonly string[]): string[] {
  if (scope === undefined) return [];
  const inScope = machinesPattern(scope);
  return machines.filter((machine) => !inScope.test(machine));
}
