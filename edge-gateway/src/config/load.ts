// Loads the gateway configuration: a YAML or JSON file (optional), then PDM_GATEWAY_* environment
// overrides, then validation; errors name the key and the expected form (see @pdm/config).
import { loadConfig } from '@pdm/config';
import { type GatewayConfig, gatewayConfigSchema } from './schema.js';

export { ConfigError } from '@pdm/config';

/** PDM_GATEWAY_MQTT__PORT=1884 sets mqtt.port; PDM_GATEWAY_GATEWAY_ID=gw-7 sets gatewayId. */
export const ENV_PREFIX = 'PDM_GATEWAY_';

export function loadGatewayConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): GatewayConfig {
  return loadConfig(gatewayConfigSchema, { name: 'gateway', envPrefix: ENV_PREFIX, ...options });
}
