export { startInflux, freePort, InfluxdStartError } from './influxd.js';
export type { RunningInflux, StartInfluxOptions, InfluxQueryResponse } from './influxd.js';
export { locateInfluxd, canAutoInstall, InfluxdNotFoundError, INSTALL_HINT } from './locate.js';
export { renderInfluxdConfig } from './config.js';
export { startTestInflux, makeTestDataDir, uniqueDatabaseName, listening } from './test-support.js';
