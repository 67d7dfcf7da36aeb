// The datasources panels point at. The InfluxDB one has a fixed uid, set by the provisioning file, so
// every panel can reference it without a lookup; Prometheus (gateway metrics) is chosen by the user
// through a datasource template variable because its name differs per installation.
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

export const INFLUX_DATASOURCE_UID = 'pdm-influxdb';
export const INFLUX_DATASOURCE_NAME = 'PdM InfluxDB';

export const INFLUX_DATASOURCE: DataSourceRef = { type: 'influxdb', uid: INFLUX_DATASOURCE_UID };

/** Name of the datasource variable that selects the Prometheus scraping the gateways. */
export const PROMETHEUS_VARIABLE = 'prometheus';
export const PROMETHEUS_DATASOURCE: DataSourceRef = { type: 'prometheus', uid: `\${${PROMETHEUS_VARIABLE}}` };
