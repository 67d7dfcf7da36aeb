// Collects items until `maxBatch` are waiting or `maxDelayMs` passed since the first one, then hands
// them to `run` in one call: concurrent score() calls become one tensor inference.
import type { Cancel, Clock } from '@pdm/clock';

export interface MicroBatcherOptions<T> {
  maxBatch: number;
  maxDelayMs: number;
  clock: Clock;
  /** Handles one batch synchronously; must settle every item itself (it must not throw). */
  run(batch: T[]): void;
}

export class MicroBatcher<T> {
  private pending: T[] = [];
  private cancelTimer: Cancel | undefined;

  constructor(private readonly options: MicroBatcherOptions<T>) {}

  add(item: T): void {
    this.pending.push(item);
    if (this.pending.length >= this.options.maxBatch) this.flush();
    else this.cancelTimer ??= this.options.clock.schedule(() => this.flush(), this.options.maxDelayMs);
  }

  /** Runs whatever is waiting now (also used before a model is swapped out and on close). */
  flush(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.options.run(batch);
    }
  }
}
