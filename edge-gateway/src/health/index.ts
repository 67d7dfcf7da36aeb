export { HealthReporter } from './health-reporter.js';
export type { HealthReporterEvents, HealthReporterOptions } from './health-reporter.js';
