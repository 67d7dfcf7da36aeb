// `@pdm/proto/testing`: helpers for tests and synthetic data that several packages share.
export { twoPassStatistics } from './two-pass-statistics.js';
export type { WindowStatistics } from './two-pass-statistics.js';
