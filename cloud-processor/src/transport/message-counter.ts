// Counts per message id: its failed handler runs (a subscription without a dead-letter policy has no
// deliveryAttempt from the server), or its redeliveries that were no failure of its own. Bounded: the
// ids counted least recently are forgotten first, which at worst gives a poison message a few extra
// attempts; it never grows without limit.
export class MessageCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  /** Counts one more for `id`; returns its count. */
  increment(id: string): number {
    const count = this.get(id) + 1;
    this.counts.delete(id); // re-insert so Map order is least recently counted first
    this.counts.set(id, count);
    if (this.counts.size > this.capacity) {
      const oldest = this.counts.keys().next().value;
      if (oldest !== undefined) this.counts.delete(oldest);
    }
    return count;
  }

  get(id: string): number {
    return this.counts.get(id) ?? 0;
  }

  forget(id: string): void {
    this.counts.delete(id);
  }
}
