// The datasource panels point at: InfluxDB, with a fixed uid set by the provisioning file, so every
// panel can reference it without a lookup.
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

export const INFLUX_DATASOURCE_UID = 'pdm-influxdb';
export const INFLUX_DATASOURCE_NAME = 'PdM InfluxDB';

export const INFLUX_DATASOURCE: DataSourceRef = { type: 'influxdb', uid: INFLUX_DATASOURCE_UID };
