// What a stateful model kind remembers per machine (a baseline, a history), keyed by model version and
// machine. The same object serves `pdm score` and the processor, so both decide every window the same
// way. A new model version starts every machine afresh; versions the registry no longer holds are forgotten. A
// version is also told apart by when it was trained: a registry wiped and trained again reuses
// `anomaly@1`, and the state of the old model must not be read as the new one's.
// A machine whose state was handed out for scoring since the last save is marked changed, so the state
// file rewrites only those (takeChanged).

import { machineKey } from '../shared/machine-key.js';

/** Which trained model a state belongs to: its name, version and contract.json createdAt. */
export interface ModelIdentity {
  name: string;
  version: string;
  createdAt: string;
}

/** One machine's state under one model version, as the state file stores it. */
export interface MachineStateEntry<S> {
  model: string;
  version: string;
  /** The model's contract.json createdAt. */
  trainedAt: string;
  siteId: string;
  machineId: string;
  state: S;
}

interface Machine<S> {
  siteId: string;
  machineId: string;
  state: S;
  /** Handed out (and so possibly changed) since the last takeChanged(). */
  changed: boolean;
}

interface Version<S> {
  model: string;
  version: string;
  trainedAt: string;
  machines: Map<string, Machine<S>>;
}

export class MachineStates<S> {
  /** `${model}@${version}@${trainedAt}` → `${site}/${machine}` (as the alert tracker keys machines) → its state. */
  private readonly versions = new Map<string, Version<S>>();

  /** `lastWindowEnd`: the windowEnd (epoch ms) of the newest window a state has seen. */
  constructor(private readonly lastWindowEnd: (state: S) => number) {}

  /** The machines' states under one model (created empty). */
  of(model: ModelIdentity): MachineStateMap<S> {
    return new MachineStateMap(this.versionOf(model.name, model.version, model.createdAt).machines);
  }

  /** A machine's state under a model version, or undefined before its first window. */
  peek(name: string, version: string, siteId: string, machineId: string): S | undefined {
    for (const v of this.versions.values()) if (v.model === name && v.version === version) return v.machines.get(machineKey({ siteId, machineId }))?.state;
    return undefined;
  }

  /** The machine's state, under whichever model version, that saw its newest window ending before `windowEnd`. */
  newestBefore(siteId: string, machineId: string, windowEnd: number): S | undefined {
    const key = machineKey({ siteId, machineId });
    let newest: S | undefined;
    for (const { machines } of this.versions.values()) {
      const state = machines.get(key)?.state;
      if (state === undefined || this.lastWindowEnd(state) >= windowEnd) continue;
      if (newest === undefined || this.lastWindowEnd(state) > this.lastWindowEnd(newest)) newest = state;
    }
    return newest;
  }

  /** Whether a machine's state under that model version is kept. */
  has(name: string, version: string, trainedAt: string, siteId: string, machineId: string): boolean {
    return this.versions.get(versionKey(name, version, trainedAt))?.machines.has(machineKey({ siteId, machineId })) ?? false;
  }

  /**
   * Forgets the states of model versions the registry no longer holds, and of a version trained again
   * under the same name and version (its loaded createdAt differs). A version still in the registry
   * keeps its states while it does not serve: a rollback to it resumes them (baselines, level
   * calibrations, thresholds), as a restart does. Memory is bounded by the registry's versions.
   */
  retainOnly(inRegistry: readonly { name: string; version: string }[], loaded: readonly ModelIdentity[]): void {
    const listed = new Set(inRegistry.map((v) => `${v.name}@${v.version}`));
    const trainedAt = new Map(loaded.map((m) => [`${m.name}@${m.version}`, m.createdAt]));
    for (const [key, v] of this.versions) {
      const id = `${v.model}@${v.version}`;
      const current = trainedAt.get(id);
      if (!listed.has(id) || (current !== undefined && current !== v.trainedAt)) this.versions.delete(key);
    }
  }

  /**
   * Forgets the machines of each model that have sent nothing for `silenceMs` before its newest window
   * (event time, so a replay forgets as live traffic does): machines replaced or retired must not
   * make the state, and the state file, grow forever. The newest window counts up to `now` at most: one
   * machine's window from the future (a gateway clock far ahead) must not make every other one silent.
   */
  forgetSilent(silenceMs: number, now: number): number {
    let forgotten = 0;
    for (const { machines } of this.versions.values()) {
      let newest = -Infinity;
      for (const m of machines.values()) newest = Math.max(newest, this.lastWindowEnd(m.state));
      newest = Math.min(newest, now);
      for (const [key, m] of machines) {
        if (this.lastWindowEnd(m.state) < newest - silenceMs) {
          machines.delete(key);
          forgotten++;
        }
      }
    }
    return forgotten;
  }

  /** Every machine's state (the live objects: serialise them before the next window is scored). */
  entries(): MachineStateEntry<S>[] {
    return this.collect(() => true);
  }

  /** The machines' states handed out since the last call (or since restore), marked unchanged again. */
  takeChanged(): MachineStateEntry<S>[] {
    return this.collect((m) => {
      const { changed } = m;
      m.changed = false;
      return changed;
    });
  }

  /** Puts states back (read from the state file), replacing a machine's current one; they count as saved. */
  restore(entries: Iterable<MachineStateEntry<S>>): void {
    for (const { model, version, trainedAt, siteId, machineId, state } of entries) {
      this.versionOf(model, version, trainedAt).machines.set(machineKey({ siteId, machineId }), { siteId, machineId, state, changed: false });
    }
  }

  private collect(take: (machine: Machine<S>) => boolean): MachineStateEntry<S>[] {
    const entries: MachineStateEntry<S>[] = [];
    for (const { model, version, trainedAt, machines } of this.versions.values()) {
      for (const m of machines.values()) if (take(m)) entries.push({ model, version, trainedAt, siteId: m.siteId, machineId: m.machineId, state: m.state });
    }
    return entries;
  }

  private versionOf(model: string, version: string, trainedAt: string): Version<S> {
    const key = versionKey(model, version, trainedAt);
    let entry = this.versions.get(key);
    if (entry === undefined) this.versions.set(key, (entry = { model, version, trainedAt, machines: new Map() }));
    return entry;
  }
}

export class MachineStateMap<S> {
  constructor(private readonly machines: Map<string, Machine<S>>) {}

  /** The machine's state, made by `init` on its first window; marked changed, as the caller is about to learn into it. */
  get(siteId: string, machineId: string, init: () => S): S {
    const key = machineKey({ siteId, machineId });
    let machine = this.machines.get(key);
    if (machine === undefined) this.machines.set(key, (machine = { siteId, machineId, state: init(), changed: true }));
    else machine.changed = true;
    return machine.state;
  }
}

function versionKey(name: string, version: string, trainedAt: string): string {
  return `${name}@${version}@${trainedAt}`;
}
