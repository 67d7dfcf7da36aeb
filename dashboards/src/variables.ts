// Template variables. Values come from InfluxDB tag values (SHOW TAG VALUES), so a new site, machine
// or sensor appears in the pickers as soon as the processor writes it.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { INFLUX_DATASOURCE, PROMETHEUS_VARIABLE } from './datasource.js';
import { showTagValues } from './influxql.js';
import type { Measurement, TagOf } from './series.js';

interface TagVariableSpec<M extends Measurement> {
  from: M;
  key: TagOf<M>;
  label: string;
  /** Several values (and All) or exactly one (dashboards about one thing, like a machine). */
  multi: boolean;
  /** Variables this one is narrowed by, e.g. machines of the selected sites. */
  narrowedBy?: TagOf<M>[];
}

function tagVariable<M extends Measurement>(spec: TagVariableSpec<M>): dashboard.QueryVariableBuilder {
  const query = showTagValues(spec.from, spec.key, spec.narrowedBy);
  return (
    new dashboard.QueryVariableBuilder(spec.key)
      .label(spec.label)
      .datasource(INFLUX_DATASOURCE)
      .query(query)
      .definition(query)
      // Tag values change when machines join; time-range refresh picks them up without a reload.
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .multi(spec.multi)
      .includeAll(spec.multi)
  );
}

export const siteVariable = () => tagVariable({ from: 'sensor_features', key: 'site', label: 'Site', multi: true });

export const machineVariable = (multi: boolean) =>
  tagVariable({ from: 'sensor_features', key: 'machine', label: 'Machine', multi, narrowedBy: ['site'] });

export const sensorVariable = () =>
  tagVariable({ from: 'sensor_features', key: 'sensor', label: 'Sensor', multi: true, narrowedBy: ['machine'] });

export const gatewayVariable = () =>
  tagVariable({ from: 'sensor_features', key: 'gateway', label: 'Gateway', multi: true, narrowedBy: ['site'] });

export const instanceVariable = () => tagVariable({ from: 'pipeline', key: 'instance', label: 'Processor instance', multi: true });

/** The Prometheus that scrapes the gateways' /metrics (its name is installation-specific). */
export const prometheusVariable = () =>
  new dashboard.DatasourceVariableBuilder(PROMETHEUS_VARIABLE)
    .label('Prometheus (gateway metrics)')
    .type('prometheus')
    .description('Prometheus scraping each edge gateway /metrics; only the "Gateway internals" row uses it.');
