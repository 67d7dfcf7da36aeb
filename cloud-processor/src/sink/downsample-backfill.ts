// Windows stored after the downsampling CQs last read their interval (an outbox draining after a link
// outage, a replay of old data) would never be in the 1-minute and 1-hour means: a CQ resamples only
// twice its interval (schema-setup.ts). The sink reports the start of every window it stored; an
// interval that got such a late window is computed again with the CQ's own query once no late window
// touched it for a quiet spell. A drain writes the same minutes for a while, and each query costs
// influxd per series and field more than per point, so contiguous quiet intervals go as one range
// (an hour at most).
import type { Cancel, Clock } from '@pdm/clock';
import { parseDuration } from '@pdm/config';

/** Intervals [fromMs, toMs) of one downsampling interval to compute again. */
export interface BackfillRange {
  interval: string;
  fromMs: number;
  toMs: number;
}

/** A window stored this close to the CQ's last run over its interval (or half an interval, if less)
 *  may have missed it too. */
const LATE_MARGIN_MS = 10_000;
/** One query covers at most this much time (or one interval, if longer): an hour of 1,000 machines'
 *  windows took influxd 10 s to average, and a long outage's drain must not become one huge query. */
const MAX_RANGE_MS = 3_600_000;
/** A late interval waits until no late window touched it for this long. */
export const BACKFILL_QUIET_MS = 30_000;

export class DownsampleBackfill {
  private readonly intervals: { name: string; ms: number }[];
  /** Interval name → start of a late interval → when a late window last touched it. */
  private readonly late = new Map<string, Map<number, number>>();
  private timer: Cancel | undefined;
  /** Backfills run one at a time, in the order they fell due. */
  private running: Promise<void> = Promise.resolve();

  constructor(
    intervals: readonly string[],
    /** Computes a range again; reports its own errors (it must not reject). */
    private readonly backfill: (range: BackfillRange) => Promise<void>,
    private readonly clock: Clock,
    private readonly quietMs = BACKFILL_QUIET_MS,
  ) {
    // The config schema lets through only intervals both InfluxQL and parseDuration read.
    this.intervals = intervals.map((name) => ({ name, ms: parseDuration(name) }));
  }

  /** A window starting at `windowStartMs` was just stored. */
  stored(windowStartMs: number): void {
    const now = this.clock.now();
    for (const { name, ms } of this.intervals) {
      const start = Math.floor(windowStartMs / ms) * ms;
      // The CQ reads an interval for the last time when the next one ends (it resamples twice it).
      if (now < start + 2 * ms - Math.min(LATE_MARGIN_MS, ms / 2)) continue;
      const touched = this.late.get(name) ?? new Map<number, number>();
      this.late.set(name, touched.set(start, now));
    }
    if (this.late.size > 0) this.timer ??= this.clock.schedule(() => this.runQuiet(), this.quietMs);
  }

  /** Runs every late interval now, quiet or not, and waits for all backfills (a flush, a stop). */
  flush(): Promise<void> {
    this.timer?.();
    this.timer = undefined;
    this.runDue(() => true);
    return this.running;
  }

  private runQuiet(): void {
    this.timer = undefined;
    const quietSince = this.clock.now() - this.quietMs;
    this.runDue((touchedAt) => touchedAt <= quietSince);
    if (this.late.size > 0) this.timer = this.clock.schedule(() => this.runQuiet(), this.quietMs);
  }

  private runDue(due: (touchedAt: number) => boolean): void {
    const ranges: BackfillRange[] = [];
    for (const { name, ms } of this.intervals) {
      const touched = this.late.get(name);
      if (touched === undefined) continue;
      const starts = [...touched].filter(([, at]) => due(at)).map(([start]) => start).sort((a, b) => a - b);
      for (const start of starts) {
        touched.delete(start);
        const last = ranges.at(-1);
        if (last?.interval === name && last.toMs === start && last.toMs - last.fromMs < Math.max(ms, MAX_RANGE_MS)) last.toMs = start + ms;
        else ranges.push({ interval: name, fromMs: start, toMs: start + ms });
      }
      if (touched.size === 0) this.late.delete(name);
    }
    for (const range of ranges) this.running = this.running.then(() => this.backfill(range));
  }
}
