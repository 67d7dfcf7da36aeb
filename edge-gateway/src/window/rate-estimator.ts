/** What a RateEstimator learned: the hz of sampled blocks, and the counts of recent complete panes. */
export interface RateSnapshot {
  blockHz: number;
  paneCounts: number[];
}

/** How many complete panes the learned rate looks back on: enough to ride out one odd window. */
const LEARNED_HISTORY = 5;

/**
 * The sample rate a sensor is expected to deliver, to fill `expected_count`. In order of trust:
 * a declared rate (configuration), the `hz` of its sampled blocks, or a rate learned as the median
 * count of its recent complete panes (median, not mean, so one burst or gap does not move it).
 */
export class RateEstimator {
  private blockHz = 0;
  private readonly history = new Float64Array(LEARNED_HISTORY);
  private historyLength = 0;
  private historyNext = 0;

  constructor(private readonly declaredHz: number) {}

  observeBlockRate(hz: number): void {
    this.blockHz = hz;
  }

  /**
   * Records the count of a pane that was complete: closed by the watermark and not the sensor's first
   * pane (which usually starts mid-way).
   */
  observeCompletePane(count: number): void {
    this.history[this.historyNext] = count;
    this.historyNext = (this.historyNext + 1) % LEARNED_HISTORY;
    if (this.historyLength < LEARNED_HISTORY) this.historyLength++;
  }

  /** What the estimator learned, oldest pane count first, for a checkpoint. */
  snapshot(): RateSnapshot {
    const counts: number[] = [];
    for (let i = 0; i < this.historyLength; i++) {
      counts.push(this.history[(this.historyNext - this.historyLength + i + LEARNED_HISTORY) % LEARNED_HISTORY] ?? 0);
    }
    return { blockHz: this.blockHz, paneCounts: counts };
  }

  /** Takes back what a checkpoint's snapshot says was learned. */
  restore(snapshot: RateSnapshot): void {
    this.blockHz = snapshot.blockHz;
    for (const count of snapshot.paneCounts) this.observeCompletePane(count);
  }

  /** Readings expected in a window of `windowMs`, given panes of `paneMs`; 0 when nothing is known. */
  expectedCount(windowMs: number, paneMs: number): number {
    if (this.declaredHz > 0) return Math.round((this.declaredHz * windowMs) / 1000);
    if (this.blockHz > 0) return Math.round((this.blockHz * windowMs) / 1000);
    if (this.historyLength === 0) return 0;
    return Math.round(this.medianPaneCount() * (windowMs / paneMs));
  }

  /** The median of the learned pane counts (at most LEARNED_HISTORY), sorted in a shared scratch array: it runs for every sensor of every window closed. */
  private medianPaneCount(): number {
    const n = this.historyLength;
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
