// A bound on the windows one processor handles at once (pubsub.maxWindowsInFlight). Subscriber flow
// control bounds messages, and a pdm.v1.FeatureBatch may carry thousands of windows: without this, a
// batch of 1,000 machines would start 1,000 scorings and InfluxDB writes at the same moment, and a
// few leased batches would hold tens of thousands of windows' points in memory. Waiting windows start
// in the order they asked (FIFO), so a machine's windows, asked one after another, keep their order.
export class WindowSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxWindowsInFlight must be a positive integer, got ${max}`);
  }

  /** Windows being handled now (at most `max`). */
  get inUse(): number {
    return this.running;
  }

  /** Windows waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `work` once a slot is free; the slot is freed when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.max) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the slot is handed over by release()
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next window: `running` stays the same
    else this.running--;
  }
}
