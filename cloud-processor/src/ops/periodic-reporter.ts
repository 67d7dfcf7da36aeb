// What the processor's reporters (pipeline health, model drift) share: a report() run every interval on
// the processor's clock until stop(), or only when asked.
import { every, type Cancel, type Clock } from '@pdm/clock';

export abstract class PeriodicReporter {
  private cancelTimer: Cancel | undefined;

  protected constructor(protected readonly clock: Clock) {}

  /** Reports every intervalMs until stop(); 0 reports only when asked (report()). */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.cancelTimer = every(this.clock, intervalMs, () => void this.report());
  }

  stop(): void {
    this.cancelTimer?.();
  }

  /** Reports now; never rejects (a lost report is only logged). */
  abstract report(): Promise<void>;
}
