// Maps virtual time onto real time. A tick at virtual time v may start no earlier than
// realStart + (v − virtualStart) / speed, and no earlier than the reading-rate cap allows for the
// readings already sent. With speed and rate both infinite it never waits.
import { type Clock, sleep } from '@pdm/clock';

export class Pacer {
  private realStart = 0;
  private virtualStart = 0;

  constructor(
    private readonly clock: Clock,
    /** Virtual ms per real ms; Infinity = as fast as possible. */
    private readonly speed: number,
    /** Readings per real second; Infinity = no cap. */
    private readonly readingsPerSecond: number,
  ) {}

  start(virtualStart: number): void {
    this.realStart = this.clock.now();
    this.virtualStart = virtualStart;
  }

  /** Real ms the tick at `virtualTs` must wait, given `readingsSent` so far. */
  delayFor(virtualTs: number, readingsSent: number): number {
    const bySpeed = (virtualTs - this.virtualStart) / this.speed;
    const byRate = (readingsSent / this.readingsPerSecond) * 1000;
    const earliest = this.realStart + Math.max(bySpeed, byRate);
    return Math.max(0, earliest - this.clock.now());
  }

  async wait(virtualTs: number, readingsSent: number, signal?: AbortSignal): Promise<void> {
    const delay = this.delayFor(virtualTs, readingsSent);
    if (delay > 0) await sleep(this.clock, delay, signal);
  }

  /** How far real time trails the schedule set by --speed (ms); > 0 means the sinks cannot keep up. */
  lagMs(virtualTs: number): number {
    if (!Number.isFinite(this.speed)) return 0;
    return Math.max(0, this.clock.now() - (this.realStart + (virtualTs - this.virtualStart) / this.speed));
  }
}
