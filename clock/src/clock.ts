// The one time source of the services. Logic reads time and sets timers only through a Clock, so
// tests move time with a ManualClock instead of sleeping, and every timer can be cancelled on stop.

/** Cancels a scheduled call; calling it after the call ran, or twice, does nothing. */
export type Cancel = () => void;

export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Runs `fn` once, `ms` milliseconds from now (0 or less: on the next turn). */
  schedule(fn: () => void, ms: number): Cancel;
}

/**
 * Wall-clock time and Node timers. A pending timer keeps the process alive, as setTimeout does: work
 * awaited behind a timer (a batch delay, a back-off) must finish before a command exits. Cancel timers
 * on stop instead of relying on unref.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(fn, ms) {
    const timer = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

/** Calls `fn` every `ms` milliseconds on `clock` until the returned cancel is called. */
export function every(clock: Clock, ms: number, fn: () => void): Cancel {
  if (!(ms > 0)) throw new RangeError(`every: the interval must be > 0 ms, got ${ms}`);
  let cancelNext: Cancel = () => {};
  let cancelled = false;
  const tick = (): void => {
    if (cancelled) return;
    cancelNext = clock.schedule(tick, ms);
    fn();
  };
  cancelNext = clock.schedule(tick, ms);
  return () => {
    cancelled = true;
    cancelNext();
  };
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts (it never rejects). */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      cancel();
      resolve();
    };
    const cancel = clock.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Timer {
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to, for tests and for replays driven by the data's own time.
 * Moving it runs every timer that falls due, in due order (ties in the order they were scheduled),
 * with `now()` reading each timer's due time while it runs; timers scheduled meanwhile run too when
 * they fall due inside the same move.
 */
export class ManualClock implements Clock {
  private timers: Timer[] = [];
  private seq = 0;

  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  schedule(fn: () => void, ms: number): Cancel {
    const timer: Timer = { due: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward by `ms`, running what falls due. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance: ms must be a finite number >= 0, got ${ms}`);
    this.runUntil(this.current + ms);
  }

  /** Sets the time: forward runs what falls due on the way; backward (a replay's data jumping back) runs nothing. */
  set(ms: number): void {
    if (ms >= this.current) this.runUntil(ms);
    else this.current = ms;
  }

  /** Timers scheduled and not yet run or cancelled. */
  pending(): number {
    return this.timers.length;
  }

  private runUntil(target: number): void {
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = next.due;
      next.fn();
    }
    this.current = target;
  }

  private nextDue(target: number): Timer | undefined {
    let next: Timer | undefined;
    for (const t of this.timers) {
      if (t.due > target) continue;
      if (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq)) next = t;
    }
    return next;
  }
}
