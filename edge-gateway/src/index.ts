// Public entry point of @pdm/edge-gateway.
export { startGateway } from './gateway.js';
export type { GatewayDependencies, RunningGateway } from './gateway.js';
export { ConfigError, gatewayConfigSchema, loadGatewayConfig } from './config/index.js';
export type { GatewayConfig, GatewayConfigInput } from './config/index.js';
export { hashPassword, verifyPassword, Users } from './mqtt/index.js';
export { Ingest, REJECT_REASONS } from './ingest/index.js';
export type { RejectReason } from './ingest/index.js';
export * from './window/index.js';
export { connectPubSub, usesPubSubEmulator, windowsOfMessage } from './publisher/index.js';
export type { PubSubClientOptions } from './publisher/index.js';
export { runGatewayCli, GATEWAY_USAGE } from './cli.js';
export { GATEWAY_NODE_FLAGS } from './node-flags.js';
export type { CliIo } from './cli.js';
export * from './replay/index.js';
export { bucketQuantile } from './health/publish-latency.js';
