// What a tick sends over MQTT, before encoding: structured messages the chaos stage can delay,
// reorder, duplicate or skew. Encoding to the wire happens last (payloads.ts).
import type { MachineTick } from '../fleet/machine.js';
import { VIBRATION, type LowRateSensor, type SensorId } from '../fleet/machine-types.js';

/** Payload family on the wire (contract: MQTT ingest). */
export const PAYLOAD_FORMATS = ['json', 'batch', 'protobuf'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

interface MessageBase {
  machine: string;
  /** Index of the machine in the fleet: picks its gateway connection. */
  machineIndex: number;
  sensor: SensorId;
  /** Event time (ms) of the first reading, before any chaos clock skew. */
  ts: number;
}
export interface SingleMessage extends MessageBase {
  kind: 'single';
  value: number;
}
export interface BlockMessage extends MessageBase {
  kind: 'block';
  hz: number;
  values: Float64Array;
}
export type SensorMessage = SingleMessage | BlockMessage;

export function readingsIn(message: SensorMessage): number {
  return message.kind === 'single' ? 1 : message.values.length;
}

/**
 * Messages for one tick. `json`: every reading its own JSON single, vibration samples included
 * (their ts rounded to the ms; meant for exercising the single-reading path at low rates).
 * `batch` / `protobuf`: low-rate readings as singles, the vibration block as one batch.
 */
export function tickMessages(tick: MachineTick, machineIndex: number, format: PayloadFormat): SensorMessage[] {
  const out: SensorMessage[] = [];
  const base = { machine: tick.machine, machineIndex };
  for (const [sensor, value] of Object.entries(tick.values) as [LowRateSensor, number][]) {
    out.push({ ...base, kind: 'single', sensor, ts: tick.ts, value });
  }
  if (format === 'json') {
    const msPerSample = 1000 / tick.vibrationHz;
    tick.vibration.forEach((value, i) => {
      out.push({ ...base, kind: 'single', sensor: VIBRATION, ts: tick.ts + Math.round(i * msPerSample), value });
    });
  } else {
    out.push({ ...base, kind: 'block', sensor: VIBRATION, ts: tick.ts, hz: tick.vibrationHz, values: tick.vibration });
  }
  return out;
}
