/**
 * What a RateEstimator learned: the hz of sampled blocks, and the counts of recent complete panes,
 * oldest first. A RateEstimator is one itself (a checkpoint reads it without a copy).
 */
export interface RateSnapshot {
  readonly blockHz: number;
  readonly paneCounts: readonly number[];
}

/** How many complete panes the learned rate looks back on: enough to ride out one odd window. */
const LEARNED_HISTORY = 5;

/**
 * The sample rate a sensor is expected to deliver, to fill `expected_count`. In order of trust:
 * a declared rate (configuration), the `hz` of its sampled blocks, or a rate learned as the median
 * count of its recent complete panes (median, not mean, so one burst or gap does not move it).
 */
export class RateEstimator implements RateSnapshot {
  private hz = 0;
  /** The last LEARNED_HISTORY complete pane counts, oldest first. */
  private readonly history: number[] = [];

  constructor(private readonly declaredHz: number) {}

  get blockHz(): number {
    return this.hz;
  }

  get paneCounts(): readonly number[] {
    return this.history;
  }

  observeBlockRate(hz: number): void {
    this.hz = hz;
  }

  /**
   * Records the count of a pane that was complete: closed by the watermark and not the sensor's first
   * pane (which usually starts mid-way).
   */
  observeCompletePane(count: number): void {
    const history = this.history;
    if (history.length < LEARNED_HISTORY) {
      history.push(count);
      return;
    }
    // Full: the oldest goes, moved over in place (shift() would trim the array's store every time).
    for (let i = 1; i < LEARNED_HISTORY; i++) history[i - 1] = history[i] as number;
    history[LEARNED_HISTORY - 1] = count;
  }

  /** A copy of what the estimator learned, which later panes do not change. */
  snapshot(): RateSnapshot {
    return { blockHz: this.hz, paneCounts: [...this.history] };
  }

  /** Takes back what a checkpoint's snapshot says was learned. */
  restore(snapshot: RateSnapshot): void {
    this.hz = snapshot.blockHz;
    for (const count of snapshot.paneCounts) this.observeCompletePane(count);
  }

  /** Readings expected in a window of `windowMs`, given panes of `paneMs`; 0 when nothing is known. */
  expectedCount(windowMs: number, paneMs: number): number {
    if (this.declaredHz > 0) return Math.round((this.declaredHz * windowMs) / 1000);
    if (this.hz > 0) return Math.round((this.hz * windowMs) / 1000);
    if (this.history.length === 0) return 0;
    return Math.round(this.medianPaneCount() * (windowMs / paneMs));
  }

  /** The median of the learned pane counts (at most LEARNED_HISTORY), sorted in a shared scratch array: it runs for every sensor of every window closed. */
  private medianPaneCount(): number {
    const n = this.history.length;
    const sorted = scratch;
    for (let i = 0; i < n; i++) {
      const count = this.history[i] as number;
      let j = i;
      while (j > 0 && (sorted[j - 1] as number) > count) {
        sorted[j] = sorted[j - 1] as number;
        j--;
      }
      sorted[j] = count;
    }
    const mid = n >> 1;
    return n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  }
}

const scratch = new Float64Array(LEARNED_HISTORY);
