// What the processor's reporters (pipeline health, model drift) share: a report() run every interval on
// the processor's clock until stop(), or only when asked; and close(), a last report at the processor's
// stop, which would otherwise lose whatever happened since the last interval (the drain above all).
import { every, type Cancel, type Clock } from '@pdm/clock';

export abstract class PeriodicReporter {
  private cancelTimer: Cancel | undefined;
  private intervalMs = 0;
  /** The reports the timer started that are not done yet (a set, not a chain: a chain would keep every report ever made). */
  private readonly timed = new Set<Promise<void>>();

  protected constructor(protected readonly clock: Clock) {}

  /** Reports every intervalMs until stop(); 0 reports only when asked (report()). */
  start(intervalMs: number): void {
    this.intervalMs = intervalMs;
    if (intervalMs <= 0) return;
    this.cancelTimer = every(this.clock, intervalMs, () => {
      const report = this.report();
      this.timed.add(report);
      void report.finally(() => this.timed.delete(report));
    });
  }

  stop(): void {
    this.cancelTimer?.();
  }

  /**
   * Stops the timer and reports once more, what happened since the report before, beside the reports
   * the timer started (which no one awaits): resolves once all are written or their loss logged, so the
   * processor's stop can await them before the sink's final flush. Side by side, not one after the
   * other: with InfluxDB unreachable the stop waits one request timeout, not one per report. Nothing
   * when reporting is off.
   */
  async close(): Promise<void> {
    this.stop();
    if (this.intervalMs <= 0) return;
    await Promise.all([...this.timed, this.report()]);
  }

  /** Reports now; never rejects (a lost report is only logged). */
  abstract report(): Promise<void>;
}
