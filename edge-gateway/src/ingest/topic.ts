// Parses the fixed MQTT ingest topic: sensors/{machineId}/{sensorId}, with the suffix /pb marking a
// protobuf SensorBatch payload (MQTT 3.1.1 has no content type). Ids are [A-Za-z0-9_.-]{1,64}.
import { IngestRejection } from './reasons.js';

export type PayloadFormat = 'json' | 'protobuf';

export interface SensorTopic {
  machineId: string;
  sensorId: string;
  format: PayloadFormat;
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
  for (const [what, id] of [['machineId', machineId], ['sensorId', sensorId]] as const) {
    if (!isValidId(id)) throw new IngestRejection('bad_topic', `${what} "${id}" in topic "${topic}" must match [A-Za-z0-9_.-]{1,64}`);
  }
  return { machineId, sensorId, format };
}
