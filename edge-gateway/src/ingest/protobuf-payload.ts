// Decodes a pdm.v1.SensorBatch payload (topics ending in /pb).
import { decodeSensorBatch } from '@pdm/proto';
import type { DecodedPayload } from './payload.js';
import { IngestRejection } from './reasons.js';

const msOrGatewayTime = (ts: bigint) => (ts === 0n ? undefined : Number(ts));

export function decodeProtobufPayload(payload: Buffer): DecodedPayload {
  let batch;
  try {
    batch = decodeSensorBatch(payload);
  } catch (error) {
    throw new IngestRejection('bad_protobuf', `payload is not a pdm.v1.SensorBatch: ${(error as Error).message}`);
  }
  switch (batch.body.case) {
    case 'readings':
      return {
        kind: 'points',
        ts: batch.body.value.readings.map((r) => msOrGatewayTime(r.ts)),
        values: batch.body.value.readings.map((r) => r.value),
      };
    case 'block':
      return { kind: 'block', startTs: msOrGatewayTime(batch.body.value.startTs), hz: batch.body.value.hz, values: batch.body.value.values };
    default:
      throw new IngestRejection('bad_protobuf', 'SensorBatch carries neither readings nor a block');
  }
}
