export { Bridge } from './bridge.js';
export type { BridgeDependencies } from './bridge.js';
export { BridgeMetrics } from './metrics.js';
export type { BridgeOutcome } from './metrics.js';
export type { UpstreamConfig } from './schema.js';
