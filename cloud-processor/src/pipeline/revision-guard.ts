// Keeps an older revision of a window from overwriting a newer one that is already written. Pub/Sub
// delivers in order per machine (ordering key), but a redelivery of revision 0 can still arrive after
// revision 1 was written. Equal revisions are admitted (a plain redelivery rewrites the same values).
// In memory and bounded (oldest windows forgotten first): after a restart, or for windows older than
// the last `capacity` ones, a stale revision can win; the next revision, if any, corrects it.
export class RevisionGuard {
  private readonly newest = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  admit(machineId: string, windowStart: bigint, revision: number): boolean {
    const key = `${machineId}\u0000${windowStart}`;
    const seen = this.newest.get(key);
    if (seen !== undefined && seen > revision) return false;
    this.newest.delete(key);
    this.newest.set(key, revision);
    if (this.newest.size > this.capacity) {
      const oldest = this.newest.keys().next().value;
      if (oldest !== undefined) this.newest.delete(oldest);
    }
    return true;
  }
}
