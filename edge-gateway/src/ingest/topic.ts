// Parses the fixed MQTT ingest topic: sensors/{machineId}/{sensorId}, with the suffix /pb marking a
// protobuf SensorBatch payload (MQTT 3.1.1 has no content type). Ids are [A-Za-z0-9_.-]{1,64}.
import type { SensorHandle } from '../window/index.js';
import { IngestRejection } from './reasons.js';

export type PayloadFormat = 'json' | 'protobuf';

export interface SensorTopic {
  readonly machineId: string;
  readonly sensorId: string;
  readonly format: PayloadFormat;
}

const ID = /^[A-Za-z0-9_.-]{1,64}$/;
const PREFIX = 'sensors/';

export function isValidId(id: string): boolean {
  return ID.test(id);
}

export function parseSensorTopic(topic: string): SensorTopic {
  if (!topic.startsWith(PREFIX)) throw new IngestRejection('bad_topic', `topic "${topic}" does not start with ${PREFIX}`);
  const parts = topic.slice(PREFIX.length).split('/');
  const [machineId, sensorId, suffix] = parts;
  const format: PayloadFormat | undefined = parts.length === 2 ? 'json' : parts.length === 3 && suffix === 'pb' ? 'protobuf' : undefined;
  if (format === undefined || machineId === undefined || sensorId === undefined) {
    throw new IngestRejection('bad_topic', `topic "${topic}" is not sensors/{machineId}/{sensorId} or sensors/{machineId}/{sensorId}/pb`);
  }
  checkIds(machineId, sensorId, topic);
  return { machineId, sensorId, format };
}

/** Refuses (bad_topic) ids that are not [A-Za-z0-9_.-]{1,64}, naming the topic they came from. */
export function checkIds(machineId: string, sensorId: string, topic: string): void {
  for (const [what, id] of [['machineId', machineId], ['sensorId', sensorId]] as const) {
    if (!isValidId(id)) throw new IngestRejection('bad_topic', `${what} "${id}" in topic "${topic}" must match [A-Za-z0-9_.-]{1,64}`);
  }
}

/** A parsed topic as the cache keeps it, with the engine's handle of its sensor once the engine holds it. */
export class CachedSensorTopic implements SensorTopic {
  handle: SensorHandle | undefined = undefined;
  constructor(
    readonly machineId: string,
    readonly sensorId: string,
    readonly format: PayloadFormat,
  ) {}
}

/**
 * Remembers parsed topics. Devices publish on the same topics over and over, and parsing (a split and
 * two regular expressions) is a large share of what a single reading costs. Only valid topics are
 * kept, and the cache empties itself at its bound so a flood of distinct topics cannot grow it.
 */
export class SensorTopicCache {
  private readonly parsed = new Map<string, CachedSensorTopic>();

  constructor(private readonly maxEntries = 100_000) {}

  parse(topic: string): CachedSensorTopic {
    let parsed = this.parsed.get(topic);
    if (parsed === undefined) {
      const { machineId, sensorId, format } = parseSensorTopic(topic);
      parsed = new CachedSensorTopic(machineId, sensorId, format);
      if (this.parsed.size >= this.maxEntries) this.parsed.clear();
      this.parsed.set(topic, parsed);
    }
    return parsed;
  }
}
