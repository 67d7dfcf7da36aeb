// Public entry point of @pdm/dashboards: Grafana dashboards as code (foundation SDK, InfluxQL panels)
// and their provisioning files.
export { InfluxQueryBuilder, influx } from './influx-query.js';
export type { InfluxQuery, InfluxResultFormat } from './influx-query.js';
export { measurement, showTagValues, groupByTime, lastOfRange, TIME_FILTER, INTERVAL, INTERVAL_MS, RANGE_END_MS, CONTRIBUTION_FIELDS, REJECTED_FIELDS } from './influxql.js';
export type { Fill, MeasurementRef } from './influxql.js';
export { INFLUX_DATASOURCE, INFLUX_DATASOURCE_UID } from './datasource.js';
export { DASHBOARDS } from './dashboards/index.js';
export type { DashboardSpec } from './dashboards/index.js';
export { datasourceYaml, dashboardProviderYaml } from './provisioning.js';
export { buildDashboards, BUILD_DEFAULTS } from './build.js';
export type { BuildDashboardsOptions, BuiltFiles } from './build.js';
export { runDashboardsCli, DASHBOARDS_USAGE } from './cli.js';
export type { DashboardsCliIo } from './cli.js';
