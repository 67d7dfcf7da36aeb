// Its own clock, not @pdm/clock: infrastructure stand-ins depend only on the wire contract (see the
// module-boundary rules in eslint.config.js), so the emulator can be lifted out as it is.
// Time source for ack deadlines and retry backoff. Production uses the wall clock plus a timer; tests use
// ManualClock and call advance(), which runs the scheduler synchronously so due redeliveries happen at once.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A clock that can tell the scheduler it moved, so moving it is enough to trigger due work. */
export interface ObservableClock extends Clock {
  onAdvance(listener: () => void): () => void;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements ObservableClock {
  private current: number;
  private readonly listeners = new Set<() => void>();

  constructor(startMs = Date.UTC(2024, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  /** Moves time forward and runs every due deadline and backoff before returning. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.current += ms;
    for (const listener of this.listeners) listener();
  }

  onAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function isObservableClock(clock: Clock): clock is ObservableClock {
  return typeof (clock as Partial<ObservableClock>).onAdvance === 'function';
}
