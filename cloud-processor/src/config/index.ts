export { processorConfigSchema } from './schema.js';
export type { ProcessorConfig, ProcessorConfigInput } from './schema.js';
export { loadProcessorConfig, parseProcessorConfig, applyEnvOverrides, ConfigError, ENV_PREFIX } from './load.js';
