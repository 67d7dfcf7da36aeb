// Collects items until `maxBatch` are waiting or `maxDelayMs` passed since the first one, then hands
// them to `run` in one call: concurrent score() calls become one tensor inference.
import type { SchedulerClock } from './clock.js';

export interface MicroBatcherOptions<T> {
  maxBatch: number;
  maxDelayMs: number;
  clock: SchedulerClock;
  /** Handles one batch synchronously; must settle every item itself (it must not throw). */
  run(batch: T[]): void;
}

export class MicroBatcher<T> {
  private pending: T[] = [];
  private timer: unknown;
  private armed = false;

  constructor(private readonly options: MicroBatcherOptions<T>) {}

  add(item: T): void {
    this.pending.push(item);
    if (this.pending.length >= this.options.maxBatch) this.flush();
    else if (!this.armed) {
      this.armed = true;
      this.timer = this.options.clock.setTimeout(() => {
        this.armed = false;
        this.flush();
      }, this.options.maxDelayMs);
    }
  }

  /** Runs whatever is waiting now (also used before a model is swapped out and on close). */
  flush(): void {
    if (this.armed) {
      this.options.clock.clearTimeout(this.timer);
      this.armed = false;
    }
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.options.run(batch);
    }
  }

  get waiting(): number {
    return this.pending.length;
  }
}
