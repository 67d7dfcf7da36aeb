// Which edge node feeds each machine. The machine id formats (sparkplug.machineId,
// sparkplug.nodeMachineId) can map sources of two nodes to one machine — device ids are unique only
// within their edge node (Sparkplug 3.0), so with the default "{device}" a "pump-1" on two nodes is
// one machine. The first node whose source (its own metrics or a device) is born for a machine keeps
// it while any of its sources that claimed it lives, and a birth of another node's source for it is
// refused meanwhile: a machine's windows never mix two nodes' readings, and the death of one never
// closes the windows of a machine another feeds. Sources of one node may share a machine (e.g.
// machineId "{node}" makes one machine of a node's devices): one node's readings of one machine, so
// the machine is free once the last of them died.

/** An edge node (no device) or one of its devices, by its topic levels. */
export interface Source {
  readonly group: string;
  readonly node: string;
  readonly device?: string;
}

/** "group/node" or "group/node/device": topic levels hold no "/", so each source has its own name. */
export const sourceName = ({ group, node, device }: Source): string => (device === undefined ? `${group}/${node}` : `${group}/${node}/${device}`);

interface Ownership {
  /** The edge node, no device. */
  readonly node: Source;
  /** The names of its live sources that claimed the machine. */
  readonly sources: Set<string>;
}

export class MachineOwners {
  /** By machine id: at most one entry per live node or device, so as many as births.ts keeps at most. */
  private readonly owners = new Map<string, Ownership>();

  /** Adds `source` to the machine's feeders unless another edge node feeds it: that node, else undefined. */
  claim(machineId: string, source: Source): Source | undefined {
    const node: Source = { group: source.group, node: source.node };
    const owner = this.owners.get(machineId);
    if (owner === undefined) this.owners.set(machineId, { node, sources: new Set([sourceName(source)]) });
    else if (sourceName(owner.node) !== sourceName(node)) return owner.node;
    else owner.sources.add(sourceName(source));
    return undefined;
  }

  /** `source` died: whether that freed the machine (it fed it, and no other source of its node does). */
  release(machineId: string, source: Source): boolean {
    const owner = this.owners.get(machineId);
    if (owner === undefined || !owner.sources.delete(sourceName(source)) || owner.sources.size > 0) return false;
    this.owners.delete(machineId);
    return true;
  }
}
