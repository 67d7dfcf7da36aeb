// Counts failed handler runs per message id when the subscription has no dead-letter policy (and so no
// deliveryAttempt from the server). Bounded: the oldest ids are forgotten first, which at worst gives
// a poison message a few extra attempts; it never grows without limit.
export class FailureCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  /** Records one more failure of `id`; returns how many it has had. */
  fail(id: string): number {
    const count = (this.counts.get(id) ?? 0) + 1;
    this.counts.delete(id); // re-insert so Map order is least-recently-failed first
    this.counts.set(id, count);
    if (this.counts.size > this.capacity) {
      const oldest = this.counts.keys().next().value;
      if (oldest !== undefined) this.counts.delete(oldest);
    }
    return count;
  }

  forget(id: string): void {
    this.counts.delete(id);
  }
}
