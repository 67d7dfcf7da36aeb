// Pipeline health: is data flowing from the gateways through Pub/Sub into InfluxDB, and how late.
// What reaches InfluxDB: the processor's `pipeline` reports, and what the gateways' windows say about
// their readings (sensor_features, by event time). The gateways' own internals (ingest rate, rejects,
// outbox, publish latency) exist only as Prometheus metrics on each gateway's /metrics; they sit in a
// collapsed row on a Prometheus datasource variable, for installations that scrape them.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { INFLUX_DATASOURCE, PROMETHEUS_DATASOURCE } from '../datasource.js';
import { influx } from '../influx-query.js';
import { INTERVAL_MS, TIME_FILTER, groupByTime, measurement } from '../influxql.js';
import { PROCESSOR_COMPONENT } from '../series.js';
import { panelIds } from '../panels/ids.js';
import {
  anyIsBadThresholds,
  completenessThresholds,
  lagThresholds,
  listLegend,
  outageHoursThresholds,
  sharedTooltip,
  tableLegend,
} from '../panels/style.js';
import { gatewayVariable, instanceVariable, prometheusVariable, siteVariable } from '../variables.js';
import { DASHBOARD_DEFAULTS, type DashboardSpec } from './spec.js';

export const PIPELINE_HEALTH: DashboardSpec = { uid: 'pdm-pipeline-health', title: 'PdM — Pipeline health', build: buildPipelineHealth };

const pipeline = measurement('pipeline');
const features = measurement('sensor_features');
const processorSelection = `${pipeline.tag('component')} = '${PROCESSOR_COMPONENT}' AND ${pipeline.matches('instance')} AND ${TIME_FILTER}`;
const gatewaySelection = `${features.matches('site')} AND ${features.matches('gateway')} AND ${TIME_FILTER}`;

const lastNotNull = () => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

/** A processor-wide figure: the latest value of each instance, summed over instances. */
const sumOfLatest = (field: Parameters<typeof pipeline.field>[0], as: string) =>
  `SELECT sum("v") AS "${as}" FROM (SELECT last(${pipeline.field(field)}) AS "v" FROM ${pipeline.from} WHERE ${processorSelection} GROUP BY ${pipeline.tag('instance')})`;

function headline(id: number, title: string, query: string) {
  return new stat.PanelBuilder()
    .id(id)
    .title(title)
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query))
    .reduceOptions(lastNotNull())
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value)
    .height(4)
    .span(6);
}

function processorSeries(id: number, title: string, select: string, fill: '0' | 'null' = 'null') {
  return new timeseries.PanelBuilder()
    .id(id)
    .title(title)
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(`SELECT ${select} FROM ${pipeline.from} WHERE ${processorSelection} ${groupByTime(fill, pipeline.tag('instance'))}`).alias('$col $tag_instance'))
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .legend(tableLegend(['mean', 'max', 'lastNotNull']))
    .tooltip(sharedTooltip())
    .height(8)
    .span(12);
}

function gatewaySeries(id: number, title: string, select: string, fill: '0' | 'null') {
  return new timeseries.PanelBuilder()
    .id(id)
    .title(title)
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(`SELECT ${select} FROM ${features.from} WHERE ${gatewaySelection} ${groupByTime(fill, features.tag('gateway'))}`).alias('$tag_gateway'))
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .legend(tableLegend(['mean', 'max', 'lastNotNull']))
    .tooltip(sharedTooltip())
    .height(8)
    .span(8);
}

/** Gateway metrics scraped by Prometheus (names as exported by the gateway's ops/metrics.ts). */
function gatewayPrometheus(id: number, title: string, queries: { expr: string; legend: string }[], unit: string) {
  const panel = new timeseries.PanelBuilder().id(id).title(title).datasource(PROMETHEUS_DATASOURCE);
  queries.forEach((q, i) =>
    panel.withTarget(
      new prometheus.DataqueryBuilder()
        .refId(String.fromCharCode(65 + i))
        .datasource(PROMETHEUS_DATASOURCE)
        .editorMode(prometheus.QueryEditorMode.Code)
        .expr(q.expr)
        .legendFormat(q.legend)
        .range(),
    ),
  );
  return panel.unit(unit).showPoints(common.VisibilityMode.Never).legend(tableLegend(['mean', 'max', 'lastNotNull'])).tooltip(sharedTooltip()).height(8).span(12);
}

function gatewayInternalsRow(id: () => number) {
  const rate = '[$__rate_interval]';
  return new dashboard.RowBuilder('Gateway internals (Prometheus: gateway /metrics)')
    .id(id())
    .collapsed(true)
    .withPanel(
      gatewayPrometheus(id(), 'Readings accepted per second per gateway', [{ expr: `sum by (instance) (rate(pdm_gateway_readings_total${rate}))`, legend: '{{instance}}' }], units.CountsPerSecond),
    )
    .withPanel(
      gatewayPrometheus(id(), 'Rejected readings by reason', [{ expr: `sum by (reason) (rate(pdm_gateway_rejected_total${rate}))`, legend: '{{reason}}' }], units.CountsPerSecond)
        .drawStyle(common.GraphDrawStyle.Bars)
        .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal)),
    )
    .withPanel(gatewayPrometheus(id(), 'Outbox depth (windows awaiting Pub/Sub)', [{ expr: 'pdm_gateway_outbox_depth', legend: '{{instance}}' }], units.Short).min(0))
    .withPanel(
      gatewayPrometheus(id(), 'Hours of outage the outbox can still hold', [{ expr: 'pdm_gateway_outbox_hours_of_outage_left', legend: '{{instance}}' }], units.Hours)
        .thresholds(outageHoursThresholds())
        .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Area))
        .mappings([{ type: dashboard.MappingType.ValueToText, options: { '-1': { text: 'unbounded', index: 0 } } }]),
    )
    .withPanel(
      gatewayPrometheus(
        id(),
        'Publish latency (to Pub/Sub confirmation)',
        [0.5, 0.95, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le, instance) (rate(pdm_gateway_publish_latency_seconds_bucket${rate})))`,
          legend: `p${q * 100} {{instance}}`,
        })),
        units.Seconds,
      ),
    )
    .withPanel(
      gatewayPrometheus(
        id(),
        'Outbox drops and publish errors (data at risk)',
        [
          { expr: `sum by (instance, bound) (increase(pdm_gateway_outbox_dropped_total${rate}))`, legend: 'dropped ({{bound}}) {{instance}}' },
          { expr: `sum by (instance) (increase(pdm_gateway_publish_errors_total${rate}))`, legend: 'publish errors {{instance}}' },
        ],
        units.Short,
      ).thresholds(anyIsBadThresholds()),
    );
}

function buildPipelineHealth(): dashboard.Dashboard {
  const id = panelIds();
  const cumulative = (field: 'dead_letters' | 'contract_mismatches', as: string) =>
    // The reports carry running totals; the per-interval increase is what an operator reads.
    `non_negative_difference(last(${pipeline.field(field)})) AS "${as}"`;
  return (
    new dashboard.DashboardBuilder(PIPELINE_HEALTH.title)
      .uid(PIPELINE_HEALTH.uid)
      .tags([...DASHBOARD_DEFAULTS.tags, 'pipeline'])
      .time({ from: 'now-3h', to: 'now' })
      .refresh(DASHBOARD_DEFAULTS.refresh)
      .tooltip(dashboard.DashboardCursorSync.Crosshair)
      .withVariable(siteVariable())
      .withVariable(gatewayVariable())
      .withVariable(instanceVariable())
      .withVariable(prometheusVariable())
      .withRow(new dashboard.RowBuilder('Cloud processor (InfluxDB "pipeline" measurement)').id(id()))
      .withPanel(headline(id(), 'Throughput (all instances)', sumOfLatest('throughput', 'throughput')).unit(units.MessagesPerSecond).decimals(1))
      .withPanel(headline(id(), 'Messages in flight', sumOfLatest('in_flight', 'in_flight')).unit(units.Short).decimals(0))
      .withPanel(
        headline(id(), 'Dead letters in range', `SELECT sum("d") AS "dead_letters" FROM (SELECT spread(${pipeline.field('dead_letters')}) AS "d" FROM ${pipeline.from} WHERE ${processorSelection} GROUP BY ${pipeline.tag('instance')})`)
          .unit(units.Short)
          .decimals(0)
          .thresholds(anyIsBadThresholds())
          .colorMode(common.BigValueColorMode.Background),
      )
      .withPanel(
        headline(id(), 'End-to-end lag (mean in range)', `SELECT mean(${pipeline.field('lag_ms')}) AS "lag" FROM ${pipeline.from} WHERE ${processorSelection}`)
          .description('From a window closing (event time) to its points written in InfluxDB.')
          .unit(units.Milliseconds)
          .thresholds(lagThresholds()),
      )
      .withPanel(processorSeries(id(), 'Messages processed per second', `mean(${pipeline.field('throughput')}) AS "throughput"`).unit(units.MessagesPerSecond).min(0))
      .withPanel(
        processorSeries(id(), 'Ack latency and end-to-end lag', `mean(${pipeline.field('ack_latency_ms')}) AS "ack latency", mean(${pipeline.field('lag_ms')}) AS "end-to-end lag"`)
          .unit(units.Milliseconds)
          .min(0)
          .thresholds(lagThresholds())
          .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed)),
      )
      .withPanel(
        processorSeries(id(), 'Dead letters and contract mismatches per interval', `${cumulative('dead_letters', 'dead letters')}, ${cumulative('contract_mismatches', 'contract mismatches')}`)
          .unit(units.Short)
          .decimals(0)
          .drawStyle(common.GraphDrawStyle.Bars)
          .fillOpacity(80)
          .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic)),
      )
      .withPanel(
        processorSeries(id(), 'In-flight messages and open alerts', `last(${pipeline.field('in_flight')}) AS "in flight", last(${pipeline.field('open_alerts')}) AS "open alerts"`)
          .unit(units.Short)
          .decimals(0)
          .min(0),
      )
      .withRow(new dashboard.RowBuilder('Gateways, as seen in their windows (InfluxDB "sensor_features", event time)').id(id()))
      .withPanel(
        gatewaySeries(id(), 'Readings per second per gateway', `sum(${features.field('count')}) * 1000 / ${INTERVAL_MS} AS "readings"`, 'null')
          .description('Readings that made it into windows, by window time. Arrives late while a gateway buffers through an outage.')
          .unit(units.CountsPerSecond)
          .min(0),
      )
      .withPanel(
        gatewaySeries(id(), 'Window completeness per gateway', `sum(${features.field('count')}) / sum(${features.field('expected_count')}) AS "completeness"`, 'null')
          .unit(units.PercentUnit)
          .min(0)
          .max(1)
          .thresholds(completenessThresholds())
          .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Area)),
      )
      .withPanel(
        gatewaySeries(id(), 'Late readings per gateway', `sum(${features.field('late_count')}) AS "late"`, '0')
          .description('Readings that arrived after their window closed (counted, optionally re-emitted as a revision).')
          .unit(units.Short)
          .decimals(0)
          .drawStyle(common.GraphDrawStyle.Bars)
          .fillOpacity(60)
          .legend(listLegend()),
      )
      // Collapsed and last: a collapsed row holds its own panels, and it needs a Prometheus.
      .withRow(gatewayInternalsRow(id))
      .build()
  );
}
