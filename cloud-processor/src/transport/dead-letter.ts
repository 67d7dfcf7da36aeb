// Publishes a message that can never be processed to the dead-letter topic, keeping its body,
// attributes and ordering key (a machine, or a gateway's shard of batches: republished dead letters keep
// each machine's order) and adding why and where it came from, so an operator can inspect it and
// republish it once the cause is fixed. The topic must be opened with messageOrdering.
import type { Message, Topic } from '@google-cloud/pubsub';
import type { DeadLetterReason } from './poison-message.js';

/** Attributes added to a dead-lettered message (the originals are kept). */
export const DEAD_LETTER_REASON_ATTRIBUTES = {
  reason: 'pdm_dead_letter_reason',
  detail: 'pdm_dead_letter_detail',
  subscription: 'pdm_source_subscription',
  messageId: 'pdm_source_message_id',
  attempts: 'pdm_delivery_attempts',
} as const;

/** Pub/Sub caps an attribute value at 1024 bytes (UTF-8): a longer detail would have the dead letter refused, and its message redelivered for ever. */
const MAX_DETAIL_BYTES = 1024;

/** `detail` cut to at most MAX_DETAIL_BYTES of UTF-8, at a character's boundary. */
function cappedDetail(detail: string): string {
  const bytes = Buffer.from(detail);
  if (bytes.length <= MAX_DETAIL_BYTES) return detail;
  let end = MAX_DETAIL_BYTES;
  // Back to the first byte of the character the cut would split (continuation bytes are 10xxxxxx).
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString();
}

export class DeadLetterPublisher {
  constructor(
    private readonly topic: Topic,
    private readonly subscription: string,
  ) {}

  /** Resolves with the dead-letter message id once Pub/Sub confirmed it. */
  async publish(message: Message, reason: DeadLetterReason, detail: string, attempts: number): Promise<string> {
    const a = DEAD_LETTER_REASON_ATTRIBUTES;
    const orderingKey = message.orderingKey || undefined;
    const published = this.topic.publishMessage({
      data: message.data,
      orderingKey,
      attributes: {
        ...message.attributes,
        [a.reason]: reason,
        [a.detail]: cappedDetail(detail),
        [a.subscription]: this.subscription,
        [a.messageId]: message.id,
        [a.attempts]: String(attempts),
      },
    });
    try {
      return await published;
    } catch (error) {
      // A failed publish pauses its ordering key; the caller nacks, and the redelivered message must
      // be able to try again.
      if (orderingKey) this.topic.resumePublishing(orderingKey);
      throw error;
    }
  }
}
