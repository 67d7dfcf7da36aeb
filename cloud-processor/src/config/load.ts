// Loads the processor configuration: a YAML or JSON file (optional), then PDM_PROCESSOR_*
// environment overrides, then validation; errors name the key and the expected form (see @pdm/config).
import { loadConfig, parseConfig } from '@pdm/config';
import { type ProcessorConfig, processorConfigSchema } from './schema.js';

export { ConfigError } from '@pdm/config';

/** PDM_PROCESSOR_PUBSUB__FLOW_CONTROL__MAX_MESSAGES=100 sets pubsub.flowControl.maxMessages. */
export const ENV_PREFIX = 'PDM_PROCESSOR_';

/** Validates a configuration object (defaults filled in); throws ConfigError naming every bad key. */
export function parseProcessorConfig(raw: unknown, source = 'configuration'): ProcessorConfig {
  return parseConfig(processorConfigSchema, raw, 'processor', source);
}

export function loadProcessorConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): ProcessorConfig {
  return loadConfig(processorConfigSchema, { name: 'processor', envPrefix: ENV_PREFIX, ...options });
}
