// Encodes a sensor message for the wire, per the MQTT ingest contract: JSON single
// {"ts","value"}, JSON batch {"ts","hz","values"}, or protobuf pdm.v1.SensorBatch on `<topic>/pb`.
import { SensorBatchSchema, create, toBinary } from '@pdm/proto';
import type { PayloadFormat, SensorMessage } from './messages.js';

export interface WireMessage {
  topic: string;
  payload: string | Uint8Array;
  machineIndex: number;
}

export function sensorTopic(machine: string, sensor: string): string {
  return `sensors/${machine}/${sensor}`;
}

/** `skewMs` shifts the event time the device claims (a device clock that is off). */
export function encodeMessage(message: SensorMessage, format: PayloadFormat, skewMs = 0): WireMessage {
  const ts = message.ts + skewMs;
  const topic = sensorTopic(message.machine, message.sensor);
  if (format === 'protobuf') {
    const batch =
      message.kind === 'single'
        ? create(SensorBatchSchema, {
            body: { case: 'readings', value: { readings: [{ ts: BigInt(ts), value: message.value }] } },
          })
        : create(SensorBatchSchema, {
            body: { case: 'block', value: { startTs: BigInt(ts), hz: message.hz, values: Array.from(message.values) } },
          });
    return { topic: `${topic}/pb`, payload: toBinary(SensorBatchSchema, batch), machineIndex: message.machineIndex };
  }
  // Built by hand: JSON.stringify of a typed array would be an object, and this is the hot path.
  const payload =
    message.kind === 'single'
      ? `{"ts":${ts},"value":${message.value}}`
      : `{"ts":${ts},"hz":${message.hz},"values":[${message.values.join(',')}]}`;
  return { topic, payload, machineIndex: message.machineIndex };
}
