// Leased queue entries → ReceivedMessage on the wire, and the ack-id checks shared by every ack path.
import { EMULATOR_DEFAULTS } from '../defaults.js';
import { invalidArgument } from '../errors.js';
import type { QueueEntry } from '../state/message-queue.js';
import type { Subscription } from '../state/subscription.js';
import { msToTimestamp, type WireReceivedMessage } from './wire.js';

export function toReceivedMessage(sub: Subscription, entry: QueueEntry): WireReceivedMessage {
  const { message } = entry;
  return {
    ackId: entry.lease?.ackId ?? '',
    message: {
      data: message.data,
      attributes: message.attributes,
      messageId: message.id,
      publishTime: msToTimestamp(message.publishTimeMs),
      orderingKey: message.orderingKey,
    },
    deliveryAttempt: sub.deliveryAttempt(entry),
  };
}

// Our ack ids are "{server epoch}-{sequence}-{attempt}"; anything else was never issued by us.
const ACK_ID = /^[0-9a-f]{8}-\d+-\d+$/;

export function checkAckIds(ackIds: unknown, field: string): string[] {
  if (!Array.isArray(ackIds) || ackIds.length === 0) throw invalidArgument(`${field} must contain at least one ack id.`);
  for (const id of ackIds) {
    if (typeof id !== 'string' || !ACK_ID.test(id)) {
      throw invalidArgument(`You have passed an invalid ack ID to the service in ${field} (ack_id=${String(id).slice(0, 80)}).`);
    }
  }
  return ackIds as string[];
}

export function checkAckDeadlineSeconds(seconds: number, field: string, allowZero: boolean): number {
  const { minAckDeadlineSeconds, maxAckDeadlineSeconds } = EMULATOR_DEFAULTS.limits;
  const min = allowZero ? 0 : minAckDeadlineSeconds;
  if (!Number.isInteger(seconds) || seconds < min || seconds > maxAckDeadlineSeconds) {
    throw invalidArgument(`Invalid ${field} ${seconds}: must be between ${min} and ${maxAckDeadlineSeconds}.`);
  }
  return seconds;
}
