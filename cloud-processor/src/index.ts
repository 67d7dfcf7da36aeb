// Public entry point of @pdm/cloud-processor.
export { startProcessor, pubsubClientConfig } from './app/start-processor.js';
export type { ProcessorDeps, RunningProcessor } from './app/start-processor.js';
export { runProcessorCli, PROCESSOR_USAGE } from './cli.js';
export { PROCESSOR_NODE_FLAGS } from './app/node-flags.js';
export type { ProcessorCliIo } from './cli.js';
export * from './config/index.js';
export * from './transport/index.js';
export * from './sink/index.js';
// The bare InfluxDB write (keep-alive /write POSTs of line protocol, split by machine as the sink does): the baseline the pipeline benchmark compares the sink against.
export { InfluxWrite } from './sink/influx-write.js';
export { toLineProtocol } from './sink/line-protocol.js';
export { partitionByMachine } from './sink/machine-partition.js';
export { AlertTracker, ALERT_DEFAULTS } from './alerts/alert-tracker.js';
export type { AlertTransition } from './alerts/alert-tracker.js';
export type { AlertRule } from './model/api.js';
export { ProcessorMetrics } from './ops/metrics.js';
export * from './model/index.js';
export * from './training/index.js';
export * from './scoring/index.js';
// `pdm start` moves the scorer state file of an older data folder to its new name.
export { renameStateFile } from './scoring/state-file.js';
