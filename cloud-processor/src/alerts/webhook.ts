// The optional webhook target of alert deliveries: one JSON POST per attempt. Network errors, timeouts,
// 5xx, 408 and 429 are worth retrying (AlertDeliveries does, with this target's back-off, until
// alerts.delivery.giveUpAfterMs or an attempt limit if one is set); any other non-2xx answer is
// final, a redirect (3xx) included: it is not followed (a 301/302/303 would turn the POST into a GET
// without its body, answered 2xx and counted as delivered), since it is configuration that a retry does
// not change. One POST is bounded by `timeoutMs` through its own abort signal, so the target sets no
// timeoutMs of AlertDeliveries'.
// A chat webhook's path is its secret (anyone with the URL can post: --print-config hides it), so the
// reasons this target gives, which AlertDeliveries logs on every retry and give-up, name origins only.
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

/**
 * Where a redirect leads, without its path (which may be a new secret): its origin, and whether the
 * path is the configured one (an http → https or host move) or another.
 */
function redirectTarget(location: string | null, from: URL): string {
  if (location === null) return 'without a Location header';
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    return 'to an invalid Location header';
  }
  const samePath = to.pathname === from.pathname && to.search === from.search;
  return `to Location ${to.origin} (${samePath ? 'the same path' : 'another path'})`;
}

export class WebhookTarget implements DeliveryTarget {
  readonly name = 'webhook';
  readonly backoff: BackoffOptions;
  readonly maxAttempts: number;
  readonly maxPending: number;
  private readonly url: URL;

  constructor(private readonly options: WebhookOptions) {
    this.backoff = options.backoff;
    this.maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.maxPending = options.maxPending;
    this.url = new URL(options.url);
  }

  async send(transition: AlertTransition): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(webhookBody(transition)),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      // fetch's own errors may quote the whole URL (one with user:password@ is refused so); its cause
      // ("getaddrinfo ENOTFOUND host", "connect ECONNREFUSED …") says why an attempt got no answer.
      const { message, cause } = error as { message?: unknown; cause?: { message?: unknown } };
      const why = [message, cause?.message].filter((m) => typeof m === 'string' && m !== '').join(': ');
      throw new Error(`POST to ${this.url.origin} failed: ${this.hideUrl(why || String(error))}`);
    }
    await response.body?.cancel();
    if (response.ok) return;
    const reason = `HTTP ${response.status} from ${this.url.origin}`;
    if (response.status >= 300 && response.status < 400) {
      throw new DeliveryRefused(
        `${reason}: redirected ${redirectTarget(response.headers.get('location'), this.url)}; a webhook POST is not sent on across a redirect: set alerts.webhook.url to the URL it leads to`,
      );
    }
    throw retryable(response.status) ? new Error(reason) : new DeliveryRefused(reason);
  }

  /** A text with the configured URL, wherever quoted, cut down to its origin. */
  private hideUrl(text: string): string {
    return [this.options.url, this.url.href].reduce((hidden, url) => hidden.replaceAll(url, `${this.url.origin}/…`), text);
  }
}
