// Malformed payloads a gateway must reject with a reason code and a counter. Each kind is
// recognisable on the receiving side, so tests can count exactly what arrived.
import type { Rng } from '../random/prng.js';
import type { PayloadFormat, SensorMessage } from '../output/messages.js';
import { type WireMessage, encodeMessage } from '../output/payloads.js';

export const MALFORMED_KINDS = ['bad_json', 'nan', 'wrong_type', 'bad_topic'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** Topic segment that breaks the id rule [A-Za-z0-9_.-]{1,64} without breaking MQTT (no wildcards). */
export const BAD_TOPIC_SENSOR = 'bad sensor!';

export function malformedMessage(
  kind: MalformedKind,
  message: SensorMessage,
  format: PayloadFormat,
  rng: Rng,
): WireMessage {
  const good = encodeMessage(message, format);
  const value = message.kind === 'single' ? message.value : (message.values[0] ?? 0);
  switch (kind) {
    case 'bad_json':
      // Truncated mid-object, as a device that lost its buffer would send.
      return { ...good, payload: `{"ts":${message.ts},"value":` };
    case 'nan':
      return { ...good, payload: `{"ts":${message.ts},"value":NaN}` };
    case 'wrong_type':
      return { ...good, payload: `{"ts":"${rng.pick(['soon', 'yesterday', 'n/a'])}","value":"${value}"}` };
    case 'bad_topic':
      return { ...good, topic: `sensors/${message.machine}/${BAD_TOPIC_SENSOR}` };
  }
}
