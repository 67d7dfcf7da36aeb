export { Bridge, defaultClientId } from './bridge.js';
export type { BridgeDependencies } from './bridge.js';
export { BridgeMetrics } from './metrics.js';
export type { BridgeOutcome } from './metrics.js';
export { bridgeSchema } from './schema.js';
export type { BridgeConfig, BridgeMappingConfig, UpstreamConfig } from './schema.js';
