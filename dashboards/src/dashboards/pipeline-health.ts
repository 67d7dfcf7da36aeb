// Pipeline health: is data flowing from the gateways through Pub/Sub into InfluxDB, and how late.
// Everything comes from InfluxDB: the processor's `pipeline` reports (component=cloud-processor), the
// gateways' health reports that the processor writes to the same measurement (component=edge-gateway:
// ingest, rejects, outbox, publish latency), and what the gateways' windows say about their readings
// (sensor_features, by event time).
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { INFLUX_DATASOURCE } from '../datasource.js';
import { influx } from '../influx-query.js';
import { INTERVAL, INTERVAL_MS, TIME_FILTER, groupByTime, lastOfRange, measurement } from '../influxql.js';
import { GATEWAY_COMPONENT, PROCESSOR_COMPONENT, type FieldOf } from '@pdm/cloud-processor/influx-series';
import { REJECTED_FIELDS } from '../influxql.js';
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
import { gatewayVariable, instanceVariable, siteVariable } from '../variables.js';
import { DASHBOARD_DEFAULTS, type DashboardSpec } from './spec.js';

export const PIPELINE_HEALTH: DashboardSpec = { uid: 'pdm-pipeline-health', title: 'PdM — Pipeline health', build: buildPipelineHealth };

type PipelineField = FieldOf<'pipeline'>;

const pipeline = measurement('pipeline');
const features = measurement('sensor_features');
const processorSelection = `${pipeline.equals('component', PROCESSOR_COMPONENT)} AND ${pipeline.matches('instance')} AND ${TIME_FILTER}`;
// The `gateway` variable holds gateway ids, which are the instance of the gateways' pipeline points.
const gatewayHealthSelection = `${pipeline.equals('component', GATEWAY_COMPONENT)} AND ${pipeline.matches('site')} AND ${pipeline.matches('instance', 'gateway')} AND ${TIME_FILTER}`;
const gatewayWindowsSelection = `${features.matches('site')} AND ${features.matches('gateway')} AND ${TIME_FILTER}`;

const lastNotNull = () => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

/**
 * How often the processors and the gateways write their `pipeline` points unless configured otherwise:
 * the processor's `pipelineReportIntervalMs` and the gateway's `health.intervalMs` defaults.
 * pipeline-health.test.ts holds the processor's to its config default; the gateway's is not checked
 * (this package does not depend on @pdm/edge-gateway).
 */
export const DEFAULT_REPORT_INTERVAL_MS = { processor: 10_000, gateway: 10_000 } as const;

/** An instance is live while it reported in the last this many report intervals of the time range. */
export const LIVE_REPORT_INTERVALS = 3;

/**
 * One figure over the live instances: the latest value of each instance that reported near the end of
 * the range, combined (summed, or the worst). An instance gone for good (a replaced pod, a gateway
 * renamed) keeps its last report in the range for hours; counting it would add a stale throughput,
 * in-flight count or outbox to the live ones.
 */
const ofLatest = (combine: 'sum' | 'min', selection: string, reportIntervalMs: number, field: PipelineField, as: string) =>
  `SELECT ${combine}("v") AS "${as}" FROM (SELECT last(${pipeline.field(field)}) AS "v" FROM ${pipeline.from} ` +
  `WHERE ${selection} AND ${lastOfRange(LIVE_REPORT_INTERVALS * reportIntervalMs)} GROUP BY ${pipeline.tag('instance')})`;
const ofLatestProcessors = (combine: 'sum' | 'min', field: PipelineField, as: string) => ofLatest(combine, processorSelection, DEFAULT_REPORT_INTERVAL_MS.processor, field, as);
const ofLatestGateways = (combine: 'sum' | 'min', field: PipelineField, as: string) => ofLatest(combine, gatewayHealthSelection, DEFAULT_REPORT_INTERVAL_MS.gateway, field, as);
/** For descriptions: "the instances that reported in the last 30 s of the range". */
const liveWindow = (component: keyof typeof DEFAULT_REPORT_INTERVAL_MS) => `${(LIVE_REPORT_INTERVALS * DEFAULT_REPORT_INTERVAL_MS[component]) / 1000} s`;

/**
 * How much a running total grew in the time range, over instances. Differences between consecutive
 * reports, negative ones (a restart) left out, so a restart (the total back to zero, same instance
 * id) does not count its total twice, nor take it away.
 */
const increaseInRange = (selection: string, field: PipelineField, as: string) =>
  `SELECT sum("d") AS "${as}" FROM (SELECT non_negative_difference(${pipeline.field(field)}) AS "d" FROM ${pipeline.from} WHERE ${selection} GROUP BY ${pipeline.tag('instance')})`;

/** Per-second rate of a gateway running total (restarts skipped). */
const ratePerSecond = (field: PipelineField, as: string) => `non_negative_derivative(last(${pipeline.field(field)}), 1s) AS "${as}"`;

/** Increase of a gateway running total in each interval (restarts skipped). */
const increasePerInterval = (field: PipelineField, as: string) => `non_negative_difference(last(${pipeline.field(field)})) AS "${as}"`;

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

function series(id: number, title: string, query: string, alias: string, span: number) {
  return new timeseries.PanelBuilder()
    .id(id)
    .title(title)
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query).alias(alias))
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .legend(tableLegend(['mean', 'max', 'lastNotNull']))
    .tooltip(sharedTooltip())
    .height(8)
    .span(span);
}

const processorSeries = (id: number, title: string, select: string) =>
  series(id, title, `SELECT ${select} FROM ${pipeline.from} WHERE ${processorSelection} ${groupByTime('null', pipeline.tag('instance'))}`, '$col $tag_instance', 12);

/** One series per gateway (or per figure and gateway when `select` has several columns). */
const gatewayHealthSeries = (id: number, title: string, select: string, alias = '$tag_instance') =>
  series(id, title, `SELECT ${select} FROM ${pipeline.from} WHERE ${gatewayHealthSelection} ${groupByTime('null', pipeline.tag('instance'))}`, alias, 12);

const gatewayWindowSeries = (id: number, title: string, select: string, fill: '0' | 'null') =>
  series(id, title, `SELECT ${select} FROM ${features.from} WHERE ${gatewayWindowsSelection} ${groupByTime(fill, features.tag('gateway'))}`, '$tag_gateway', 8);

/** Rejects per second by reason, summed over the selected gateways (one column per reason seen). */
const rejectsByReason = () =>
  `SELECT sum(*) FROM (SELECT non_negative_derivative(last(${REJECTED_FIELDS}), 1s) FROM ${pipeline.from} WHERE ${gatewayHealthSelection} ` +
  `${groupByTime('null', pipeline.tag('instance'))}) WHERE ${TIME_FILTER} GROUP BY time(${INTERVAL}) fill(null)`;

const bars = (panel: timeseries.PanelBuilder) => panel.drawStyle(common.GraphDrawStyle.Bars).fillOpacity(80).legend(listLegend());

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
      .withVariable(siteVariable(true))
      .withVariable(gatewayVariable())
      .withVariable(instanceVariable())
      .withRow(new dashboard.RowBuilder('Cloud processor (InfluxDB "pipeline", component=cloud-processor)').id(id()))
      .withPanel(
        headline(id(), 'Throughput (all instances)', ofLatestProcessors('sum', 'throughput', 'throughput'))
          .description(`Summed over the instances that reported in the last ${liveWindow('processor')} of the range, each at its latest report.`)
          .unit(units.MessagesPerSecond)
          .decimals(1),
      )
      .withPanel(
        headline(id(), 'Messages in flight', ofLatestProcessors('sum', 'in_flight', 'in_flight'))
          .description(`Summed over the instances that reported in the last ${liveWindow('processor')} of the range, each at its latest report.`)
          .unit(units.Short)
          .decimals(0),
      )
      .withPanel(
        headline(id(), 'Dead letters in range', increaseInRange(processorSelection, 'dead_letters', 'dead_letters'))
          .description('How much each instance’s running total grew in the range (a restart starts it from zero), summed.')
          .unit(units.Short)
          .decimals(0)
          .thresholds(anyIsBadThresholds())
          .colorMode(common.BigValueColorMode.Background),
      )
      .withPanel(
        headline(id(), 'End-to-end lag (mean in range)', `SELECT mean(${pipeline.field('lag_ms')}) AS "lag" FROM ${pipeline.from} WHERE ${processorSelection}`)
          .description('From a window closing (event time) to its points written in InfluxDB; the mean of the reports that settled a message (one that settled none carries no lag).')
          .unit(units.Milliseconds)
          .thresholds(lagThresholds()),
      )
      .withPanel(processorSeries(id(), 'Messages processed per second', `mean(${pipeline.field('throughput')}) AS "throughput"`).unit(units.MessagesPerSecond).min(0))
      .withPanel(
        processorSeries(id(), 'Ack latency and end-to-end lag', `mean(${pipeline.field('ack_latency_ms')}) AS "ack latency", mean(${pipeline.field('lag_ms')}) AS "end-to-end lag"`)
          .description('Means of the reports that settled a message. No line: nothing settled in the interval.')
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
      .withRow(new dashboard.RowBuilder('Edge gateways (their health reports: InfluxDB "pipeline", component=edge-gateway)').id(id()))
      .withPanel(
        headline(id(), 'Outbox depth (selected gateways)', ofLatestGateways('sum', 'outbox_depth', 'outbox_depth'))
          .description(`Windows waiting for Pub/Sub confirmation, at the latest report of each gateway that reported in the last ${liveWindow('gateway')} of the range.`)
          .unit(units.Short)
          .decimals(0),
      )
      .withPanel(
        headline(id(), 'Least hours of outage left', ofLatestGateways('min', 'outbox_hours_of_outage_left', 'hours'))
          .description(
            `How long the fullest outbox could still absorb a cloud outage at its current rate before dropping the oldest windows (gateways that reported in the last ${liveWindow('gateway')} of the range).`,
          )
          .unit(units.Hours)
          .decimals(1)
          .thresholds(outageHoursThresholds()),
      )
      .withPanel(
        headline(id(), 'Rejected readings in range', increaseInRange(gatewayHealthSelection, 'rejected', 'rejected'))
          .description('Readings the gateways refused (bad topic, payload, timestamp…); the reasons are in the panel below.')
          .unit(units.Short)
          .decimals(0)
          .thresholds(anyIsBadThresholds()),
      )
      .withPanel(
        headline(id(), 'Windows dropped in range (data loss)', increaseInRange(gatewayHealthSelection, 'windows_dropped', 'dropped'))
          .description('Windows the outbox dropped at its bound (bytes or age) or could not write.')
          .unit(units.Short)
          .decimals(0)
          .thresholds(anyIsBadThresholds())
          .colorMode(common.BigValueColorMode.Background),
      )
      .withPanel(
        gatewayHealthSeries(id(), 'Readings accepted per second', ratePerSecond('readings_accepted', 'readings/s'))
          .description('Readings each gateway accepted into windows, by arrival (gateway clock).')
          .unit(units.CountsPerSecond)
          .min(0),
      )
      .withPanel(
        bars(series(id(), 'Rejected readings per second, by reason', rejectsByReason(), '$col', 12))
          .description('Summed over the selected gateways. Reason codes: see the README "Contracts" section.')
          // Columns come out as sum_non_negative_derivative_rejected_<reason>: show the reason.
          .withTransformation({ id: 'renameByRegex', options: { regex: '^.*rejected_(.+)$', renamePattern: '$1' } })
          .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
          .unit(units.CountsPerSecond)
          .min(0),
      )
      .withPanel(
        gatewayHealthSeries(id(), 'Outbox depth (windows awaiting Pub/Sub)', `max(${pipeline.field('outbox_depth')}) AS "depth"`)
          .unit(units.Short)
          .decimals(0)
          .min(0),
      )
      .withPanel(
        gatewayHealthSeries(id(), 'Hours of outage the outbox can still hold', `last(${pipeline.field('outbox_hours_of_outage_left')}) AS "hours"`)
          .unit(units.Hours)
          .min(0)
          .thresholds(outageHoursThresholds())
          .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Area)),
      )
      .withPanel(
        gatewayHealthSeries(
          id(),
          'Publish latency (to Pub/Sub confirmation)',
          `mean(${pipeline.field('publish_latency_p50_ms')}) AS "p50", max(${pipeline.field('publish_latency_p99_ms')}) AS "p99"`,
          '$col $tag_instance',
        )
          .description('Per report interval, from the gateway’s latency histogram; the worst p99 of the reports in each point. No line: nothing was confirmed.')
          .unit(units.Milliseconds)
          .min(0),
      )
      .withPanel(
        bars(
          gatewayHealthSeries(
            id(),
            'Outbox drops and publish errors per interval (data at risk)',
            `${increasePerInterval('windows_dropped', 'dropped')}, ${increasePerInterval('publish_errors', 'publish errors')}`,
            '$col $tag_instance',
          ),
        )
          .description('Dropped windows are lost; a failed publish is retried from the outbox.')
          .unit(units.Short)
          .decimals(0)
          .thresholds(anyIsBadThresholds()),
      )
      .withPanel(
        gatewayHealthSeries(id(), 'Late readings per second', ratePerSecond('late_readings', 'late/s'))
          .description('Readings that arrived after their window had closed (counted; re-emitted as a revision with lateMode: revise).')
          .unit(units.CountsPerSecond)
          .min(0),
      )
      .withPanel(
        gatewayHealthSeries(
          id(),
          'Windows closed and confirmed per second',
          `${ratePerSecond('windows_emitted', 'closed')}, ${ratePerSecond('windows_published', 'confirmed')}`,
          '$col $tag_instance',
        )
          .description('Closed windows go into the outbox; confirmed ones have left it. A lasting gap is a backlog.')
          .unit(units.CountsPerSecond)
          .min(0),
      )
      .withRow(new dashboard.RowBuilder('Gateways, as seen in their windows (InfluxDB "sensor_features", event time)').id(id()))
      .withPanel(
        gatewayWindowSeries(id(), 'Readings per second per gateway, by window time', `sum(${features.field('count')}) * 1000 / ${INTERVAL_MS} AS "readings"`, 'null')
          .description('Readings that made it into windows, by window time. Arrives late while a gateway buffers through an outage.')
          .unit(units.CountsPerSecond)
          .min(0),
      )
      .withPanel(
        gatewayWindowSeries(id(), 'Window completeness per gateway', `sum(${features.field('count')}) / sum(${features.field('expected_count')}) AS "completeness"`, 'null')
          .unit(units.PercentUnit)
          .min(0)
          .max(1)
          .thresholds(completenessThresholds())
          .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Area)),
      )
      .withPanel(
        gatewayWindowSeries(id(), 'Late readings per gateway, by window time', `sum(${features.field('late_count')}) AS "late"`, '0')
          .description('Readings that arrived after their window closed (counted, optionally re-emitted as a revision).')
          .unit(units.Short)
          .decimals(0)
          .drawStyle(common.GraphDrawStyle.Bars)
          .fillOpacity(60)
          .legend(listLegend()),
      )
      .build()
  );
}
