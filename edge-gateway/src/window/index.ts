// Public surface of the window engine: event-time windows and feature assembly, usable without MQTT.
export { WindowEngine } from './engine.js';
export type { AddResult, BlockResult, SensorHandle } from './engine.js';
export { windowEngineOptionsSchema } from './options.js';
export type { EngineClock, WindowEngineOptions, WindowEngineOptionsInput } from './options.js';
export { FEATURE_VERSION } from './assemble.js';
export type { WindowEngineMetrics } from './metrics.js';
export type { CheckpointPane, CheckpointRecord, StoredCheckpoint } from './checkpoint.js';
export { Moments } from './moments.js';
export { statisticsOf } from './sensor-stats.js';
export type { WindowStatistics } from './sensor-stats.js';
