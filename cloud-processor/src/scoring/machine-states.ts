// What a stateful model kind remembers per machine (a baseline, a history), keyed by model version and
// machine. The same object serves `pdm score` and the processor, so both decide every window the same
// way. A new model version starts every machine afresh; versions no longer served are forgotten.
export class MachineStates<S> {
  /** `${model}@${version}` → `${site}/${machine}` (as the alert tracker keys machines) → its state. */
  private readonly versions = new Map<string, Map<string, S>>();

  /** The machines' states under one model version (created empty). */
  of(name: string, version: string): MachineStateMap<S> {
    const key = versionKey(name, version);
    let machines = this.versions.get(key);
    if (machines === undefined) this.versions.set(key, (machines = new Map<string, S>()));
    return new MachineStateMap(machines);
  }

  /** A machine's state under a version, or undefined before its first window. */
  peek(name: string, version: string, siteId: string, machineId: string): S | undefined {
    return this.versions.get(versionKey(name, version))?.get(machineKey(siteId, machineId));
  }

  /** Forgets the states of model versions no longer served. */
  retainOnly(served: readonly { info: { name: string; version: string } }[]): void {
    const keep = new Set(served.map((b) => versionKey(b.info.name, b.info.version)));
    for (const key of this.versions.keys()) if (!keep.has(key)) this.versions.delete(key);
  }
}

export class MachineStateMap<S> {
  constructor(private readonly machines: Map<string, S>) {}

  /** The machine's state, made by `init` on its first window. */
  get(siteId: string, machineId: string, init: () => S): S {
    const key = machineKey(siteId, machineId);
    let state = this.machines.get(key);
    if (state === undefined) this.machines.set(key, (state = init()));
    return state;
  }
}

/** Machine ids are unique within a site only: two sites may both have a pump-1. */
function machineKey(siteId: string, machineId: string): string {
  return `${siteId}/${machineId}`;
}

function versionKey(name: string, version: string): string {
  return `${name}@${version}`;
}
