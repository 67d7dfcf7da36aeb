// Why a message or a reading was refused. Every refusal carries one of these codes and increments
// pdm_gateway_rejected_total{reason}; none of them ever reaches a window.
export const REJECT_REASONS = [
  'bad_topic', // topic is not sensors/{machineId}/{sensorId}[/pb] with valid ids
  'too_large', // payload over validation.maxPayloadBytes (the client stays connected)
  'packet_too_large', // an MQTT packet over mqtt.maxPacketBytes, refused from its header; the client is disconnected
  'bad_json', // payload is not parseable JSON
  'bad_protobuf', // payload on a /pb topic is not a pdm.v1.SensorBatch
  'bad_payload', // parseable, but not one of the accepted shapes
  'bad_ts', // timestamp is neither epoch milliseconds nor ISO-8601
  'not_finite', // value is not a finite number within ±MAX_READING_MAGNITUDE (1e70)
  'future_ts', // timestamp is further ahead of the gateway clock than the allowed skew
  'too_old', // timestamp is older than the configured bound
  'bad_rate', // a sampled block whose rate is not a number in (0, validation.maxSampleRateHz]
  'unauthorized', // the client may not publish on this topic
  'too_many_machines', // a machine the gateway holds no state for, beyond validation.maxMachines
  'too_many_sensors', // a sensor its machine holds no state for, beyond validation.maxSensorsPerMachine
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

/** A refusal of a whole message, with a human-readable detail for logs and the debug topic. */
export class IngestRejection extends Error {
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(detail);
    this.name = 'IngestRejection';
  }
}
