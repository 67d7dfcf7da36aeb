// Turns a Subscription as sent by a client (create or update) into the emulator's validated configuration,
// and back into the wire shape the client expects to read.
import { status } from '@grpc/grpc-js';
import { EMULATOR_DEFAULTS } from '../defaults.js';
import { invalidArgument, RpcError } from '../errors.js';
import { type WireSubscription, durationToMs, msToDuration } from '../grpc/wire.js';
import { parseTopicName } from '../names.js';

export interface SubscriptionConfig {
  name: string;
  topic: string;
  ackDeadlineSeconds: number;
  labels: Record<string, string>;
  enableMessageOrdering: boolean;
  deadLetterPolicy?: { deadLetterTopic: string; maxDeliveryAttempts: number };
  retryPolicy?: { minimumBackoffMs: number; maximumBackoffMs: number };
}

type Limits = typeof EMULATOR_DEFAULTS.limits;

function ackDeadline(seconds: number | undefined, limits: Limits): number {
  const value = seconds ?? 0;
  if (value === 0) return limits.defaultAckDeadlineSeconds;
  if (!Number.isInteger(value) || value < limits.minAckDeadlineSeconds || value > limits.maxAckDeadlineSeconds) {
    throw invalidArgument(`Invalid ack_deadline_seconds ${value}: must be between ${limits.minAckDeadlineSeconds} and ${limits.maxAckDeadlineSeconds}.`);
  }
  return value;
}

function deadLetterPolicy(wire: WireSubscription['deadLetterPolicy'], limits: Limits): SubscriptionConfig['deadLetterPolicy'] {
  if (!wire?.deadLetterTopic) return undefined;
  parseTopicName(wire.deadLetterTopic, 'dead_letter_policy.dead_letter_topic');
  const attempts = wire.maxDeliveryAttempts || limits.minDeliveryAttempts;
  if (attempts < limits.minDeliveryAttempts || attempts > limits.maxDeliveryAttempts) {
    throw invalidArgument(`Invalid dead_letter_policy.max_delivery_attempts ${attempts}: must be between ${limits.minDeliveryAttempts} and ${limits.maxDeliveryAttempts}.`);
  }
  return { deadLetterTopic: wire.deadLetterTopic, maxDeliveryAttempts: attempts };
}

function retryPolicy(wire: WireSubscription['retryPolicy'], limits: Limits): SubscriptionConfig['retryPolicy'] {
  if (!wire) return undefined;
  const minimumBackoffMs = durationToMs(wire.minimumBackoff) ?? limits.defaultMinimumBackoffMs;
  const maximumBackoffMs = durationToMs(wire.maximumBackoff) ?? limits.defaultMaximumBackoffMs;
  if (minimumBackoffMs < 0 || maximumBackoffMs > limits.maxBackoffMs || minimumBackoffMs > maximumBackoffMs) {
    throw invalidArgument(`Invalid retry_policy: need 0 <= minimum_backoff (${minimumBackoffMs} ms) <= maximum_backoff (${maximumBackoffMs} ms) <= ${limits.maxBackoffMs} ms.`);
  }
  return { minimumBackoffMs, maximumBackoffMs };
}

/** Features the emulator does not implement are refused rather than silently ignored. */
function refuseUnsupported(wire: Partial<WireSubscription>): void {
  const unsupported = [
    wire.filter ? 'filter' : '',
    wire.enableExactlyOnceDelivery ? 'enable_exactly_once_delivery' : '',
    wire.pushConfig?.pushEndpoint ? 'push_config' : '',
  ].filter(Boolean);
  if (unsupported.length > 0) throw new RpcError(status.UNIMPLEMENTED, `The emulator does not support: ${unsupported.join(', ')}.`);
}

export function configFromCreate(wire: WireSubscription, limits: Limits = EMULATOR_DEFAULTS.limits): SubscriptionConfig {
  refuseUnsupported(wire);
  return {
    name: wire.name,
    topic: wire.topic,
    ackDeadlineSeconds: ackDeadline(wire.ackDeadlineSeconds, limits),
    labels: { ...wire.labels },
    enableMessageOrdering: Boolean(wire.enableMessageOrdering),
    deadLetterPolicy: deadLetterPolicy(wire.deadLetterPolicy, limits),
    retryPolicy: retryPolicy(wire.retryPolicy, limits),
  };
}

const snakeCase = (path: string) => path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Applies an UpdateSubscription field mask; paths are the proto's snake_case names. */
export function configFromUpdate(current: SubscriptionConfig, wire: WireSubscription, paths: string[], limits: Limits = EMULATOR_DEFAULTS.limits): SubscriptionConfig {
  if (paths.length === 0) throw invalidArgument('update_mask must name at least one field.');
  const next: SubscriptionConfig = { ...current };
  for (const path of paths.map(snakeCase)) {
    switch (path) {
      case 'ack_deadline_seconds':
        next.ackDeadlineSeconds = ackDeadline(wire.ackDeadlineSeconds, limits);
        break;
      case 'labels':
        next.labels = { ...wire.labels };
        break;
      case 'dead_letter_policy':
        next.deadLetterPolicy = deadLetterPolicy(wire.deadLetterPolicy, limits);
        break;
      case 'retry_policy':
        next.retryPolicy = retryPolicy(wire.retryPolicy, limits);
        break;
      case 'filter':
      case 'enable_exactly_once_delivery':
      case 'push_config':
        refuseUnsupported(wire);
        break;
      case 'enable_message_ordering':
        throw invalidArgument('enable_message_ordering cannot be changed after the subscription is created.');
      default:
        throw invalidArgument(`update_mask names an unknown or immutable field: "${path}".`);
    }
  }
  return next;
}

export function configToWire(config: SubscriptionConfig): Partial<WireSubscription> & Record<string, unknown> {
  return {
    name: config.name,
    topic: config.topic,
    ackDeadlineSeconds: config.ackDeadlineSeconds,
    labels: config.labels,
    enableMessageOrdering: config.enableMessageOrdering,
    deadLetterPolicy: config.deadLetterPolicy ?? null,
    retryPolicy: config.retryPolicy
      ? { minimumBackoff: msToDuration(config.retryPolicy.minimumBackoffMs), maximumBackoff: msToDuration(config.retryPolicy.maximumBackoffMs) }
      : null,
    pushConfig: { pushEndpoint: '' },
    state: 'ACTIVE',
  };
}
