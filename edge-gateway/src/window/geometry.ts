/**
 * Where windows fall in event time. Panes of `paneMs` tile the epoch (`start = floor(ts / pane) * pane`);
 * a window of `windowMs` is `windowMs / paneMs` consecutive panes and ends on a pane boundary. Tumbling
 * windows are the case pane = window; hopping windows advance by one pane.
 */
export class WindowGeometry {
  readonly panesPerWindow: number;

  constructor(
    readonly windowMs: number,
    readonly paneMs: number,
  ) {
    this.panesPerWindow = windowMs / paneMs;
  }

  paneStartOf(ts: number): number {
    return Math.floor(ts / this.paneMs) * this.paneMs;
  }

  /** Ends of the windows containing the pane that starts at `paneStart`, ascending. */
  *endsOfWindowsContaining(paneStart: number): Generator<number> {
    for (let e = paneStart + this.paneMs; e <= paneStart + this.windowMs; e += this.paneMs) yield e;
  }

  /** Ends e with after < e ≤ upTo of windows holding at least one of `paneStarts`, ascending, unique. */
  windowEndsBetween(paneStarts: readonly number[], after: number, upTo: number): number[] {
    const ends = new Set<number>();
    for (const p of paneStarts) {
      if (p >= upTo) break;
      for (const e of this.endsOfWindowsContaining(p)) if (e > after && e <= upTo) ends.add(e);
    }
    return [...ends].sort((a, b) => a - b);
  }

  /** The first window end after `floor` whose window holds one of `paneStarts` (Infinity if none). */
  nextEndAfter(paneStarts: readonly number[], floor: number): number {
    let next = Infinity;
    for (const p of paneStarts) {
      // Ends are multiples of the pane size, and so is the floor: the first end after the floor is
      // either the pane's own end or the pane that follows the floor, if the window still reaches it.
      const candidate = p >= floor ? p + this.paneMs : floor + this.paneMs;
      if (candidate <= p + this.windowMs && candidate < next) next = candidate;
    }
    return next;
  }
}
