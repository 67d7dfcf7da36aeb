// Public surface of CSV replay: a file through the same window engine as the live gateway.
export { replayCsv } from './replay.js';
export type { ReplayHooks, ReplayProgress, ReplaySummary } from './replay.js';
export { replayOptionsSchema } from './options.js';
export type { ReplayEngineOptions, ReplayOptions, ReplayOptionsInput } from './options.js';
export { ReplayError } from './replay-error.js';
export type { ReplayErrorCode } from './replay-error.js';
export { machineWindowToJson } from './window-json.js';
export type { MachineWindowJson, SensorStatsJson } from './window-json.js';
export { ReplayPublisher } from './publish-windows.js';
export type { ReplayPublishOptions } from './publish-windows.js';
