// Optional webhook for alerts: POSTs JSON, retries with exponential back-off (with jitter) on network
// errors, 5xx and 429, and never blocks the caller (notify() returns at once). Bounded: beyond
// maxPending undelivered notifications new ones are dropped and counted, so a dead endpoint cannot grow
// memory.
import { backoffDelay, sleep, systemClock, type BackoffOptions, type Cancel, type Clock } from '@pdm/clock';
import type { Logger } from 'pino';
import { describeError } from '../shared/describe-error.js';

export const WEBHOOK_DEFAULTS = {
  /** Attempts per notification, the first included. */
  maxAttempts: 6,
  backoff: { initialMs: 1_000, multiplier: 2, maxMs: 60_000 },
  /** One POST, at most. */
  timeoutMs: 10_000,
  /** Undelivered notifications kept (in flight or waiting for a retry). */
  maxPending: 1_000,
};

export interface WebhookOptions {
  url: string;
  maxAttempts: number;
  backoff: BackoffOptions;
  timeoutMs: number;
  maxPending: number;
}

export interface WebhookEvents {
  delivered?(attempts: number): void;
  /** Given up (attempts exhausted, 4xx, or dropped at the bound). */
  failed?(reason: string): void;
}

const retryable = (status: number) => status >= 500 || status === 429 || status === 408;

export class WebhookNotifier {
  private pending = 0;
  private readonly retries = new Set<Cancel>();
  private readonly settledWaiters: (() => void)[] = [];

  constructor(
    private readonly options: WebhookOptions,
    private readonly log: Logger,
    private readonly events: WebhookEvents = {},
    private readonly clock: Clock = systemClock,
  ) {}

  notify(body: unknown): void {
    if (this.pending >= this.options.maxPending) {
      this.events.failed?.('queue full');
      this.log.error({ url: this.options.url, pending: this.pending }, 'webhook queue full; alert notification dropped');
      return;
    }
    this.pending++;
    this.attempt(JSON.stringify(body), 1);
  }

  /** Notifications not yet delivered or given up. */
  pendingCount(): number {
    return this.pending;
  }

  /** Waits up to timeoutMs for pending notifications, then gives up the ones waiting for a retry. */
  async close(timeoutMs: number): Promise<void> {
    if (this.pending > 0) {
      const timeUp = new AbortController();
      await Promise.race([new Promise<void>((resolve) => this.settledWaiters.push(resolve)), sleep(this.clock, timeoutMs, timeUp.signal)]);
      timeUp.abort();
    }
    for (const cancelRetry of this.retries) {
      cancelRetry();
      this.settle(() => this.events.failed?.('shutdown'));
    }
    if (this.retries.size > 0) this.log.error({ url: this.options.url, dropped: this.retries.size }, 'alert webhook notifications dropped at shutdown');
    this.retries.clear();
  }

  private attempt(payload: string, attempt: number): void {
    void this.post(payload).then((failure) => {
      if (failure === undefined) return this.settle(() => this.events.delivered?.(attempt));
      if (failure.final || attempt >= this.options.maxAttempts) {
        this.log.error({ url: this.options.url, attempt, reason: failure.reason }, 'alert webhook gave up');
        return this.settle(() => this.events.failed?.(failure.reason));
      }
      const delay = backoffDelay(attempt, this.options.backoff);
      this.log.warn({ url: this.options.url, attempt, retryInMs: Math.round(delay), reason: failure.reason }, 'alert webhook failed; retrying');
      const cancelRetry = this.clock.schedule(() => {
        this.retries.delete(cancelRetry);
        this.attempt(payload, attempt + 1);
      }, delay);
      this.retries.add(cancelRetry);
    });
  }

  /** undefined when delivered; otherwise why, and whether retrying can help. */
  private async post(payload: string): Promise<{ reason: string; final: boolean } | undefined> {
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: payload,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.body?.cancel();
      if (response.ok) return undefined;
      return { reason: `HTTP ${response.status}`, final: !retryable(response.status) };
    } catch (error) {
      return { reason: describeError(error), final: false };
    }
  }

  private settle(report: () => void): void {
    this.pending--;
    report();
    if (this.pending === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
  }
}
