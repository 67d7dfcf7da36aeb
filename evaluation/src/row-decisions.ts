// Pointwise protocols judge rows, detectors decide windows: a row takes the decision of the window
// [start, end) that holds its timestamp. A row no scored window holds (the scorer refused the
// window, or the row lies outside the scored range) is decided "normal" and counted as undecided, so
// a report can say how many of its normal verdicts nobody gave.

export interface WindowDecision {
  start: number;
  end: number;
  anomaly: boolean;
}

export interface RowDecisions {
  /** 1 where the row is decided anomalous. */
  anomalous: Uint8Array;
  /** 1 where some scored window holds the row. */
  decided: Uint8Array;
}

/**
 * When windows overlap (hopping windows), a row held by several is anomalous if any of them says so:
 * an operator sees an alarm at that time.
 */
export function decideRows(timestamps: readonly number[], windows: readonly WindowDecision[]): RowDecisions {
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  const longest = sorted.reduce((max, w) => Math.max(max, w.end - w.start), 0);
  const anomalous = new Uint8Array(timestamps.length);
  const decided = new Uint8Array(timestamps.length);
  for (const [row, t] of timestamps.entries()) {
    // The last window starting at or before t; earlier ones can hold t only if they started within `longest`.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]!.start <= t) lo = mid + 1;
      else hi = mid;
    }
    for (let j = lo - 1; j >= 0 && sorted[j]!.start > t - longest; j--) {
      const window = sorted[j]!;
      if (t >= window.end) continue;
      decided[row] = 1;
      if (window.anomaly) anomalous[row] = 1;
    }
  }
  return { anomalous, decided };
}
