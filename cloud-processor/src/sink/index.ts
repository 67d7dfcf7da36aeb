export { InfluxSink } from './influx-sink.js';
export type { InfluxSinkEvents } from './influx-sink.js';
export { INFLUX_SINK_DEFAULTS } from './options.js';
export type { InfluxSinkOptions, RetentionPolicy } from './options.js';
export * from './influx-series.js';
export { continuousQueryName } from './schema-setup.js';
export type { AlertPointInput } from './points.js';
