export { processorConfigSchema } from './schema.js';
export type { ProcessorConfig, ProcessorConfigInput } from './schema.js';
export { loadProcessorConfig, parseProcessorConfig, ConfigError, ENV_PREFIX } from './load.js';
