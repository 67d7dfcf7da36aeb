// Which publisher created each machine's window state, so that one user cannot take every place
// of the gateway's machine cap (validation.maxMachinesPerUser). A machine belongs to the user whose
// reading created its state, and stops counting once the window engine forgets it; the registry
// learns that lazily, when a user at the cap asks for another machine, so the hot path only reads.
export class MachineOwners {
  private readonly ownerOf = new Map<string, string>();
  private readonly machinesOf = new Map<string, Set<string>>();

  /** `held` says whether the window engine still holds state for a machine. */
  constructor(private readonly held: (machineId: string) => boolean) {}

  /** Whether `owner` holds fewer than `cap` machines, those the engine forgot or gave to another owner not counted. */
  hasRoom(owner: string, cap: number): boolean {
    const machines = this.machinesOf.get(owner);
    if (!machines || machines.size < cap) return true;
    for (const machineId of machines) {
      if (this.held(machineId) && this.ownerOf.get(machineId) === owner) continue;
      machines.delete(machineId);
      if (this.ownerOf.get(machineId) === owner) this.ownerOf.delete(machineId);
    }
    return machines.size < cap;
  }

  /** Records that `owner`'s reading created the state of `machineId`. */
  claim(machineId: string, owner: string): void {
    this.ownerOf.set(machineId, owner);
    const machines = this.machinesOf.get(owner) ?? new Set<string>();
    this.machinesOf.set(owner, machines.add(machineId));
  }
}
