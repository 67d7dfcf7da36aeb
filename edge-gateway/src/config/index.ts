export { gatewayConfigSchema } from './schema.js';
export type { GatewayConfig, GatewayConfigInput } from './schema.js';
export { ConfigError, ENV_PREFIX, loadGatewayConfig } from './load.js';
