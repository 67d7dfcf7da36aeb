// The optional webhook target of alert deliveries: one JSON POST per attempt. Network errors, timeouts,
// 5xx, 408 and 429 are worth retrying (AlertDeliveries does, with this target's back-off, until
// alerts.delivery.giveUpAfterMs or an attempt limit if one is set); any other non-2xx answer is
// final. One POST is bounded by `timeoutMs` through its own abort signal, so the target sets no
// timeoutMs of AlertDeliveries'.
import type { BackoffOptions } from '@pdm/clock';
import { DeliveryRefused, type DeliveryTarget } from './alert-delivery.js';
import type { AlertTransition } from './alert-tracker.js';

export const WEBHOOK_DEFAULTS = {
  backoff: { initialMs: 1_000, multiplier: 2, maxMs: 60_000 },
  /** One POST, at most. */
  timeoutMs: 10_000,
  /** Transitions this processor holds for the webhook at once; beyond, the webhook is given up for new ones (counted). */
  maxPending: 1_000,
};

export interface WebhookOptions {
  url: string;
  /**
   * Attempts per notification, the first included; unset: as long as alerts.delivery.giveUpAfterMs
   * allows (as for the alerts topic), so a receiver down for a while (a redeploy) misses nothing.
   */
  maxAttempts?: number | undefined;
  backoff: BackoffOptions;
  timeoutMs: number;
  maxPending: number;
}

const retryable = (status: number) => status >= 500 || status === 429 || status === 408;

/** What the webhook receives: the transition, with the window's score figures at the top level. */
export function webhookBody(t: AlertTransition): unknown {
  const { score } = t;
  return { ...t, score: score.score, threshold: score.threshold, windowEnd: score.windowEnd, contributions: score.contributions, model: score.model, modelVersion: score.modelVersion };
}

export class WebhookTarget implements DeliveryTarget {
  readonly name = 'webhook';
  readonly backoff: BackoffOptions;
  readonly maxAttempts: number;
  readonly maxPending: number;

  constructor(private readonly options: WebhookOptions) {
    this.backoff = options.backoff;
    this.maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.maxPending = options.maxPending;
  }

  async send(transition: AlertTransition): Promise<void> {
    const response = await fetch(this.options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(webhookBody(transition)),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    await response.body?.cancel();
    if (response.ok) return;
    const reason = `HTTP ${response.status} from ${this.options.url}`;
    throw retryable(response.status) ? new Error(reason) : new DeliveryRefused(reason);
  }
}
