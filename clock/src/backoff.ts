// One retry back-off for every component that retries (publisher, webhook, transport). Exponential
// and capped, with jitter, so many gateways or processors that failed together at an outage do not
// all retry in the same instant when it ends.

export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  /** Growth per further attempt. */
  multiplier: number;
  /** Cap on the delay. */
  maxMs: number;
  /**
   * Fraction of the delay that is random, 0–1 (default 0.2): the delay is drawn uniformly from
   * [d × (1 − jitter), d], where d is the exponential delay for this attempt.
   */
  jitter?: number;
}

/**
 * The delay before retry number `attempt` (1 = the first retry). `random` returns [0, 1); injected
 * so tests can pin it.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`backoffDelay: attempt must be an integer >= 1, got ${attempt}`);
  const jitter = options.jitter ?? 0.2;
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`backoffDelay: jitter must be within 0–1, got ${jitter}`);
  const exponential = Math.min(options.maxMs, options.initialMs * options.multiplier ** (attempt - 1));
  return exponential * (1 - jitter * random());
}
