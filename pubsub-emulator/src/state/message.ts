// A published message as the emulator stores it, and the publish-time checks the real service applies.
import { EMULATOR_DEFAULTS } from '../defaults.js';
import { failedPrecondition, invalidArgument } from '../errors.js';

export interface StoredMessage {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
  publishTimeMs: number;
}

export type IncomingMessage = Pick<StoredMessage, 'data' | 'attributes' | 'orderingKey'>;

/** What flow control counts: payload plus attributes and ordering key, like the service's message size. */
export function messageBytes(message: IncomingMessage): number {
  let bytes = message.data.length + Buffer.byteLength(message.orderingKey);
  for (const [key, value] of Object.entries(message.attributes)) bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  return bytes;
}

/**
 * What Google bills for one Publish request (cloud.google.com/pubsub/pricing, "Message volume
 * calculation"): each message counts its data, attribute keys and values, 20 bytes for the timestamp,
 * its message_id and optional fields such as the ordering key; the request counts at least 1,000 bytes
 * ("A minimum of 1000 bytes per publish, push or pull request is assessed regardless of message size").
 */
export function billedPublishBytes(messages: readonly StoredMessage[]): number {
  const volume = messages.reduce((sum, message) => sum + messageBytes(message) + TIMESTAMP_BYTES + Buffer.byteLength(message.id), 0);
  return Math.max(MIN_BILLED_REQUEST_BYTES, volume);
}
const TIMESTAMP_BYTES = 20;
const MIN_BILLED_REQUEST_BYTES = 1000;

/** Checks one Publish request's messages; errors name the message index and the limit broken. */
export function validatePublishBatch(raw: unknown, limits = EMULATOR_DEFAULTS.limits): IncomingMessage[] {
  if (!Array.isArray(raw) || raw.length === 0) throw invalidArgument('The request must contain at least one message.');
  // The official client never sends more, nor keys mixed in one request (it batches per key); a raw
  // client or another library may, and the service refuses both.
  if (raw.length > limits.maxMessagesPerRequest) {
    throw invalidArgument(`The request holds ${raw.length} messages; the limit is ${limits.maxMessagesPerRequest}.`);
  }
  const keys = new Set(raw.map((item: unknown) => (item as Partial<IncomingMessage> | null)?.orderingKey || ''));
  if (keys.size > 1) throw failedPrecondition('In a single publish request, all messages must have no ordering key or they must all have the same ordering key.');
  let total = 0;
  return raw.map((item: unknown, index) => {
    const candidate = (item ?? {}) as Partial<IncomingMessage>;
    const data = Buffer.isBuffer(candidate.data) ? candidate.data : Buffer.alloc(0);
    const attributes = candidate.attributes && typeof candidate.attributes === 'object' ? candidate.attributes : {};
    const orderingKey = typeof candidate.orderingKey === 'string' ? candidate.orderingKey : '';
    const message = { data, attributes, orderingKey };
    const keys = Object.keys(attributes);
    if (data.length === 0 && keys.length === 0) {
      throw invalidArgument(`Some messages in the publish request are empty (messages[${index}]): each message must contain non-empty data or at least one attribute.`);
    }
    if (keys.length > limits.maxAttributes) {
      throw invalidArgument(`messages[${index}] has ${keys.length} attributes; the limit is ${limits.maxAttributes}.`);
    }
    for (const key of keys) {
      if (key === '' || Buffer.byteLength(key) > limits.maxAttributeKeyBytes) {
        throw invalidArgument(`messages[${index}] attribute key "${key.slice(0, 64)}" must be 1-${limits.maxAttributeKeyBytes} bytes.`);
      }
      const value = attributes[key] ?? '';
      if (key.startsWith('goog')) throw invalidArgument(`messages[${index}] attribute key "${key}" must not start with "goog".`);
      if (Buffer.byteLength(value) > limits.maxAttributeValueBytes) {
        throw invalidArgument(`messages[${index}] attribute "${key}" value exceeds ${limits.maxAttributeValueBytes} bytes.`);
      }
    }
    if (Buffer.byteLength(orderingKey) > limits.maxOrderingKeyBytes) {
      throw invalidArgument(`messages[${index}] ordering key exceeds ${limits.maxOrderingKeyBytes} bytes.`);
    }
    const bytes = messageBytes(message);
    if (bytes > limits.maxMessageBytes) {
      throw invalidArgument(`messages[${index}] is ${bytes} bytes: Request payload size exceeds the limit: ${limits.maxMessageBytes} bytes.`);
    }
    total += bytes;
    if (total > limits.maxRequestBytes) {
      throw invalidArgument(`Request payload size exceeds the limit: ${limits.maxRequestBytes} bytes (reached at messages[${index}]).`);
    }
    return message;
  });
}
