// Knobs of the Pub/Sub transporter (server and client) and their defaults, in one place.
import type { ClientConfig } from '@google-cloud/pubsub';
import type { Clock } from '@pdm/clock';
import type { Logger } from 'pino';

/** How a message was settled. */
export type Settlement = 'acked' | 'nacked' | 'dead_lettered';

export const PUBSUB_TRANSPORT_DEFAULTS = {
  /** Messages and bytes leased to this instance at once (subscriber flow control). Bounds memory and
   *  how much work a crash hands back to the other instances. */
  flowControl: { maxMessages: 1000, maxBytes: 64 * 1024 * 1024 },
  /** Failed handler runs after which a message is dead-lettered instead of nacked again. With a
   *  dead-letter policy on the subscription, keep this below its maxDeliveryAttempts so our copy
   *  (with the reason attribute) is the one that reaches the dead-letter topic. */
  maxAttempts: 5,
  /** A message whose handler failed transiently (TransientError) is held this long, doubling per
   *  consecutive transient failure up to the max (less up to 20% jitter), before its nack: during an
   *  outage the instance keeps its flow-control window full instead of spinning on immediate
   *  redeliveries. close() ends the holds at once. */
  transientBackoff: { initialMs: 100, maxMs: 10_000 },
  /** StreamingPull streams per instance (the client's default is 5). */
  streams: 5,
  /** How long close() waits for in-flight handlers before the client nacks what is left. */
  drainTimeoutMs: 30_000,
  /** Per-message failure counts kept when the subscription has no dead-letter policy (LRU bound). */
  attemptCacheSize: 100_000,
} as const;

export interface FlowControl {
  maxMessages: number;
  maxBytes: number;
}

export interface PubSubServerOptions {
  /** How to reach Pub/Sub: projectId, and apiEndpoint + emulatorMode for an emulator. */
  client: ClientConfig;
  /** Subscription to pull from (short name or projects/…/subscriptions/…); it must exist. */
  subscription: string;
  /** Topic that receives messages that can never be processed; it must exist. */
  deadLetterTopic: string;
  flowControl?: Partial<FlowControl>;
  streams?: number;
  transientBackoff?: { initialMs: number; maxMs: number };
  maxAttempts?: number;
  drainTimeoutMs?: number;
  /** Timers of the transient back-off and the drain timeout. Default: the system clock. */
  clock?: Clock;
  logger?: Logger;
  /** Observers for metrics; called synchronously, must not throw. */
  events?: PubSubServerEvents;
}

export interface PubSubServerEvents {
  /** A message arrived and is being handled. */
  received?(): void;
  /**
   * A message was settled; `schema` is its schema attribute when a handler of the server takes it, else
   * `other` (a metric label: bounded); `latencyMs` from receipt to settlement, `reason` for dead letters.
   */
  settled?(outcome: Settlement, schema: string, latencyMs: number, reason?: string): void;
}

export interface PubSubClientOptions {
  client: ClientConfig;
  /** Topic every event is published to. */
  topic: string;
  /** Total time the client may spend on one publish, retries included. */
  publishTimeoutMs?: number;
}
