// How a message ends — acked, nacked (at once, or after a back-off while InfluxDB is unreachable) or
// dead-lettered — from what became of it. PubSubServer hands every message in here once its handler
// ran; this module knows nothing of Pub/Sub clients or NestJS, so its rules are tested on a manual clock.
import { backoffDelay, sleep, systemClock, type BackoffOptions, type Clock } from '@pdm/clock';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { describeError } from '../shared/describe-error.js';
import { TransientError } from '../shared/transient-error.js';
import { BehindFailureError } from './behind-failure.js';
import { MessageCounter } from './message-counter.js';
import { PUBSUB_TRANSPORT_DEFAULTS, type Settlement } from './options.js';
import { PoisonMessageError, type DeadLetterReason } from './poison-message.js';

export interface Settled {
  outcome: Settlement;
  /** Why, for dead letters. */
  reason?: DeadLetterReason;
}

/** What settling needs of a Pub/Sub message. */
export interface SettleableMessage {
  readonly id: string;
  /** Deliveries so far as Pub/Sub counts them: only with a dead-letter policy on the subscription, else 0. */
  readonly deliveryAttempt: number;
  ack(): void;
  nack(): void;
}

export interface SettlementOptions {
  /** Failed handler runs after which a message is dead-lettered instead of nacked again. */
  maxAttempts?: number;
  /** Hold before nacking a message whose handler failed transiently, growing per consecutive transient failure. */
  transientBackoff?: { initialMs: number; maxMs: number };
  /** Timers of the transient back-off. Default: the system clock. */
  clock?: Clock;
  /** Draws the back-off's jitter; injected so tests can pin it. */
  random?: () => number;
}

/** Publishes a message to the dead-letter topic; rejects when Pub/Sub did not confirm it. */
export type DeadLetterPublish<M> = (message: M, reason: DeadLetterReason, detail: string, attempts: number) => Promise<unknown>;

export class Settler<M extends SettleableMessage> {
  private readonly maxAttempts: number;
  private readonly backoff: BackoffOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  /** Failed handler runs per message id, for subscriptions without a dead-letter policy. */
  private readonly failures = new MessageCounter(PUBSUB_TRANSPORT_DEFAULTS.attemptCacheSize);
  /**
   * Per message id, the nacks that were no failure of its own (a transient failure, an earlier message
   * of its key failed): Pub/Sub's deliveryAttempt counts their redeliveries too, and they must not
   * count towards dead-lettering. Kept by this instance only: after its restart, or for nacks another
   * instance made, deliveryAttempt overcounts as before.
   */
  private readonly excusedNacks = new MessageCounter(PUBSUB_TRANSPORT_DEFAULTS.attemptCacheSize);
  private consecutiveTransientFailures = 0;
  /** Aborted by stop(): back-offs end at once. */
  /** Aborted by stop(): every held back-off listens to it, so it may have as many listeners as messages held. */
  private readonly stopping = unlimitedListeners(new AbortController());

  constructor(
    options: SettlementOptions,
    private readonly publishDeadLetter: DeadLetterPublish<M>,
    private readonly log: Logger,
  ) {
    this.maxAttempts = options.maxAttempts ?? PUBSUB_TRANSPORT_DEFAULTS.maxAttempts;
    const { initialMs, maxMs } = options.transientBackoff ?? PUBSUB_TRANSPORT_DEFAULTS.transientBackoff;
    this.backoff = { initialMs, maxMs, multiplier: 2 };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** Its handler resolved: ack. */
  handled(message: M): Settled {
    this.consecutiveTransientFailures = 0;
    this.forget(message.id);
    message.ack();
    return { outcome: 'acked' };
  }

  /** It can never be processed: dead letter (nack if the dead letter is not confirmed). */
  poison(message: M, schema: string, error: PoisonMessageError): Promise<Settled> {
    return this.deadLetter(message, schema, error.reason, error.message, message.deliveryAttempt || 1);
  }

  /**
   * Its handler failed. A transient failure (InfluxDB unreachable) is nacked after a back-off and never
   * counts towards dead-lettering; a poison message is dead-lettered; a refusal behind an earlier
   * message's failure is nacked like a message behind a nack; anything else is nacked for redelivery
   * until it failed maxAttempts times, then dead-lettered.
   */
  async failed(message: M, schema: string, error: unknown): Promise<Settled> {
    if (error instanceof TransientError) return this.nackAfterBackoff(message, schema, error);
    if (error instanceof BehindFailureError) return this.behindNack(message, schema);
    if (error instanceof PoisonMessageError) return this.poison(message, schema, error);
    const attempts = message.deliveryAttempt > 0 ? Math.max(1, message.deliveryAttempt - this.excusedNacks.get(message.id)) : this.failures.increment(message.id);
    const detail = describeError(error);
    if (attempts >= this.maxAttempts) {
      this.forget(message.id);
      return this.deadLetter(message, schema, 'handler_failed', `failed ${attempts} times, last: ${detail}`, attempts);
    }
    this.log.warn({ messageId: message.id, schema, attempts, err: detail }, 'handler failed; nacked for redelivery');
    message.nack();
    return { outcome: 'nacked' };
  }

  /**
   * An earlier message of its ordering key was nacked: nack this one unhandled, so it cannot overtake
   * that one. Pub/Sub redelivers the nacked message and then the ones behind it (the service redelivers
   * every later message of a key along with a failed one), so order holds. Not a failure of its own: it
   * counts nowhere towards dead-lettering (Pub/Sub's delivery_attempt, under a dead-letter policy, grows
   * with each such redelivery: excusedNacks takes them off). A dead-lettered message does not hold its
   * key: it never comes back.
   */
  behindNack(message: M, schema: string): Settled {
    this.log.debug({ messageId: message.id, schema }, 'an earlier message of its ordering key was nacked; nacked unhandled');
    this.excuse(message);
    message.nack();
    return { outcome: 'nacked' };
  }

  /** Ends every back-off now and any later one at once: on shutdown, held messages are nacked without waiting. */
  stop(): void {
    this.stopping.abort();
  }

  /** A nack that is no failure of the message's own; counted only where Pub/Sub counts deliveries. */
  private excuse(message: M): void {
    if (message.deliveryAttempt > 0) this.excusedNacks.increment(message.id);
  }

  private forget(id: string): void {
    this.failures.forget(id);
    this.excusedNacks.forget(id);
  }

  /** During an outage the instance holds its messages instead of spinning on immediate redeliveries. */
  private async nackAfterBackoff(message: M, schema: string, error: TransientError): Promise<Settled> {
    const delay = backoffDelay(++this.consecutiveTransientFailures, this.backoff, this.random);
    this.log.warn({ messageId: message.id, schema, retryInMs: Math.round(delay), err: error.message }, 'transient failure; nacking after back-off');
    await sleep(this.clock, delay, this.stopping.signal);
    this.excuse(message);
    message.nack();
    return { outcome: 'nacked' };
  }

  private async deadLetter(message: M, schema: string, reason: DeadLetterReason, detail: string, attempts: number): Promise<Settled> {
    try {
      await this.publishDeadLetter(message, reason, detail, attempts);
    } catch (error) {
      // Not confirmed by Pub/Sub: keep the message (nack) rather than lose it.
      this.log.error({ messageId: message.id, reason, err: describeError(error) }, 'dead-letter publish failed; nacked');
      message.nack();
      return { outcome: 'nacked' };
    }
    this.log.warn({ messageId: message.id, schema, reason, detail }, 'message dead-lettered');
    this.forget(message.id);
    message.ack();
    return { outcome: 'dead_lettered', reason };
  }
}

/** Node warns of a leak past 10 listeners on one signal; here one per held message is the design. */
function unlimitedListeners(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}
