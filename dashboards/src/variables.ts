// Template variables. Values come from InfluxDB tag values (SHOW TAG VALUES), so a new site, machine
// or sensor appears in the pickers as soon as the processor writes it.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { INFLUX_DATASOURCE } from './datasource.js';
import { showTagValues } from './influxql.js';
import { GATEWAY_COMPONENT, PROCESSOR_COMPONENT, type Measurement, type TagOf } from '@pdm/cloud-processor/influx-series';

interface TagVariableSpec<M extends Measurement> {
  from: M;
  key: TagOf<M>;
  /** The variable's name when it differs from the tag's (default: the tag's). */
  name?: string;
  label: string;
  /** Several values (and All) or exactly one (dashboards about one thing, like a machine). */
  multi: boolean;
  /** Variables this one is narrowed by, e.g. machines of the selected sites. */
  narrowedBy?: TagOf<M>[];
  /** Fixed tag values the series must carry, e.g. one component of `pipeline`. */
  only?: Partial<Record<TagOf<M>, string>>;
}

function tagVariable<M extends Measurement>(spec: TagVariableSpec<M>): dashboard.QueryVariableBuilder {
  const query = showTagValues(spec.from, spec.key, spec.narrowedBy, spec.only);
  return (
    new dashboard.QueryVariableBuilder(spec.name ?? spec.key)
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

/** Several sites for the dashboards across them; exactly one where a machine id must name one machine (pump-1 at two plants). */
export const siteVariable = (multi: boolean) => tagVariable({ from: 'sensor_features', key: 'site', label: 'Site', multi });

export const machineVariable = (multi: boolean) =>
  tagVariable({ from: 'sensor_features', key: 'machine', label: 'Machine', multi, narrowedBy: ['site'] });

export const sensorVariable = () =>
  tagVariable({ from: 'sensor_features', key: 'sensor', label: 'Sensor', multi: true, narrowedBy: ['site', 'machine'] });

/**
 * Gateways of the selected sites, from their health reports (the `pipeline` instance of component
 * edge-gateway is the gateway id, as the `gateway` tag of sensor_features is), so a gateway shows up
 * while it runs, even before it delivers a window.
 */
export const gatewayVariable = () =>
  tagVariable({ from: 'pipeline', key: 'instance', name: 'gateway', label: 'Gateway', multi: true, narrowedBy: ['site'], only: { component: GATEWAY_COMPONENT } });

export const instanceVariable = () =>
  tagVariable({ from: 'pipeline', key: 'instance', label: 'Processor instance', multi: true, only: { component: PROCESSOR_COMPONENT } });
