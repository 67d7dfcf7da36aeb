// Which live edge node or device feeds each machine. The machine id formats (sparkplug.machineId,
// sparkplug.nodeMachineId) can map two of them to one machine — device ids are unique only within
// their edge node (Sparkplug 3.0), so with the default "{device}" a "pump-1" on two nodes is one
// machine. The first one born keeps the machine until its DDEATH or its node's NDEATH, and a birth of
// any other for it is refused meanwhile: a machine's windows never mix two sources' readings, and the
// death of one never closes the windows of a machine another feeds.

/** An edge node (no device) or one of its devices, by its topic levels. */
export interface Source {
  readonly group: string;
  readonly node: string;
  readonly device?: string;
}

/** "group/node" or "group/node/device": topic levels hold no "/", so each source has its own name. */
export const sourceName = ({ group, node, device }: Source): string => (device === undefined ? `${group}/${node}` : `${group}/${node}/${device}`);

export class MachineOwners {
  /** By machine id: one entry per live node or device, so as many as births.ts keeps at most. */
  private readonly owners = new Map<string, Source>();

  /** Gives the machine to `source` unless another source feeds it: that other one, else undefined. */
  claim(machineId: string, source: Source): Source | undefined {
    const owner = this.owners.get(machineId);
    if (owner !== undefined && sourceName(owner) !== sourceName(source)) return owner;
    this.owners.set(machineId, source);
    return undefined;
  }

  /** Frees the machine if `source` feeds it; whether it did. */
  release(machineId: string, source: Source): boolean {
    const owner = this.owners.get(machineId);
    if (owner === undefined || sourceName(owner) !== sourceName(source)) return false;
    this.owners.delete(machineId);
    return true;
  }
}
