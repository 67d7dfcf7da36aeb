export { SparkplugIngest } from './sparkplug.js';
export type { SparkplugDependencies } from './sparkplug.js';
export { SparkplugMetrics } from './metrics.js';
export { sparkplugSchema } from './schema.js';
