// Public entry point of the pdm.v1 contract: generated message types and schemas, plus the protobuf-es
// runtime functions to build and (de)serialise them, so every package uses the same runtime.
export { create, fromBinary, toBinary, fromJson, toJson } from '@bufbuild/protobuf';
export * from './gen/pdm/v1/sensor_pb.js';
export * from './gen/pdm/v1/features_pb.js';
export * from './gen/pdm/v1/alert_pb.js';
export * from './gen/pdm/v1/gateway_health_pb.js';
// Hand-written codecs for the hot messages: the same bytes and results as toBinary/fromBinary, 4–30× faster.
export { encodeMachineWindow, decodeMachineWindow } from './fast-codec/machine-window-codec.js';
export {
  encodeFeatureBatch,
  encodeFeatureBatchOf,
  decodeFeatureBatch,
  featureBatchHeaderSize,
  featureBatchWindowSize,
  readFeatureBatchFrames,
  TooManyWindowsError,
} from './fast-codec/feature-batch-codec.js';
export type { FeatureBatchHeader, FeatureBatchFrames } from './fast-codec/feature-batch-codec.js';
export { decodeSensorBatch } from './fast-codec/sensor-batch-codec.js';
export { featureBatchOrderingKey, pubsubAttributes, schemaAttribute, PUBSUB_ATTRIBUTES } from './attributes.js';
export type { MessageSource } from './attributes.js';
export { SENSOR_STAT_ENTRIES, SENSOR_STAT_FIELDS, sensorStatsByName } from './sensor-stats-fields.js';
export type { SensorStatName } from './sensor-stats-fields.js';
