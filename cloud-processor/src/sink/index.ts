export { InfluxSink } from './influx-sink.js';
export type { InfluxSeries, InfluxSinkEvents } from './influx-sink.js';
export { INFLUX_SINK_DEFAULTS } from './options.js';
export type { InfluxSinkOptions, RetentionPolicy } from './options.js';
export * from './influx-series.js';
export { continuousQueryName } from './schema-setup.js';
export type { AlertActionInput, AlertDeliveryInput, AlertPointInput, AlertStateInput } from './points.js';
