// Machine detail: one machine's score against its threshold, and every sensor's features under it, so
// a maintenance engineer can see which statistic moved when the score rose, and whether the data was
// complete enough to trust.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { INFLUX_DATASOURCE } from '../datasource.js';
import { influx } from '../influx-query.js';
import { TIME_FILTER, groupByTime, measurement, selectedMachines } from '../influxql.js';
import { ALERT_STATE } from '@pdm/cloud-processor/influx-series';
import { alertActionAnnotations, alertAnnotations } from '../panels/alert-annotations.js';
import { alertsUntilRangeEnd } from '../panels/alert-queries.js';
import { anomalySelection, scoreAndThresholdQuery } from '../panels/anomaly-queries.js';
import { panelIds } from '../panels/ids.js';
import {
  completenessThresholds,
  listLegend,
  rightAxisOverride,
  scoreRatioThresholds,
  sharedTooltip,
  tableLegend,
  thresholdLineOverride,
} from '../panels/style.js';
import { machineVariable, sensorVariable, siteVariable } from '../variables.js';
import { DASHBOARD_DEFAULTS, type DashboardSpec } from './spec.js';

export const MACHINE_DETAIL: DashboardSpec = { uid: 'pdm-machine-detail', title: 'PdM — Machine detail', build: buildMachineDetail };

const anomaly = measurement('anomaly');
const features = measurement('sensor_features');
const alerts = measurement('alerts');
const featureSelection = `${selectedMachines('sensor_features')} AND ${features.matches('sensor')} AND ${TIME_FILTER}`;
const SCORE_REF = 'SCORE';

const lastNotNull = () => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

function smallStat(id: number, title: string) {
  return new stat.PanelBuilder()
    .id(id)
    .title(title)
    .datasource(INFLUX_DATASOURCE)
    .reduceOptions(lastNotNull())
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .height(4)
    .span(6);
}

const currentScore = (id: number) =>
  smallStat(id, 'Score vs threshold')
    .description('Latest window score as a share of the model threshold.')
    .withTarget(influx(`SELECT last(${anomaly.field('score')}) / last(${anomaly.field('threshold')}) AS "vs_threshold" FROM ${anomaly.from} WHERE ${anomalySelection} ${groupByTime('null')}`))
    .unit(units.PercentUnit)
    .decimals(0)
    .thresholds(scoreRatioThresholds());

const rawScore = (id: number) =>
  smallStat(id, 'Anomaly score')
    .withTarget(influx(`SELECT last(${anomaly.field('score')}) AS "score" FROM ${anomaly.from} WHERE ${anomalySelection} ${groupByTime('null')}`))
    .decimals(2)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Fixed).fixedColor('text'));

const completenessStat = (id: number) =>
  smallStat(id, 'Completeness in range')
    .description('Readings received ÷ readings expected, all selected sensors.')
    .withTarget(influx(`SELECT sum(${features.field('count')}) / sum(${features.field('expected_count')}) AS "completeness" FROM ${features.from} WHERE ${featureSelection}`))
    .graphMode(common.BigValueGraphMode.None)
    .unit(units.PercentUnit)
    .decimals(1)
    .thresholds(completenessThresholds());

const alertState = (id: number) =>
  smallStat(id, 'Alert')
    .description('Latest alert transition of this machine up to the end of the time range, however long before it.')
    .withTarget(influx(`SELECT last(${alerts.field('score')}) AS "score", ${alerts.tag('state')} FROM ${alerts.from} WHERE ${alertsUntilRangeEnd}`).format('table'))
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false).fields('/^state$/'))
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .mappings([
      {
        type: dashboard.MappingType.ValueToText,
        options: {
          [ALERT_STATE.open]: { text: 'OPEN', color: 'red', index: 0 },
          [ALERT_STATE.resolved]: { text: 'resolved', color: 'green', index: 1 },
        },
      },
    ])
    .noValue('none');

function scorePanel(id: number) {
  return new timeseries.PanelBuilder()
    .id(id)
    .title('Anomaly score and threshold')
    .description('Worst window score per interval; the dashed red line is the model threshold. Alert transitions are annotated.')
    .datasource(INFLUX_DATASOURCE)
    .withTarget(scoreAndThresholdQuery('A'))
    .decimals(2)
    .min(0)
    .lineWidth(2)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .withOverride(thresholdLineOverride('threshold'))
    .legend(tableLegend(['max', 'lastNotNull']))
    .tooltip(sharedTooltip())
    .height(8)
    .span(24);
}

function completenessPanel(id: number) {
  const query =
    `SELECT sum(${features.field('count')}) / sum(${features.field('expected_count')}) AS "completeness" ` +
    `FROM ${features.from} WHERE ${featureSelection} ${groupByTime('null', features.tag('sensor'))}`;
  return new timeseries.PanelBuilder()
    .id(id)
    .title('Completeness by sensor')
    .description('Readings received ÷ expected per window. Below 90 % (red band) statistics are unreliable; a gap means no window arrived.')
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query).alias('$tag_sensor'))
    .unit(units.PercentUnit)
    .min(0)
    .max(1)
    .thresholds(completenessThresholds())
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Area))
    .spanNulls(false)
    .showPoints(common.VisibilityMode.Never)
    .legend(tableLegend(['min', 'mean']))
    .tooltip(sharedTooltip())
    .height(8)
    .span(12);
}

function gapsPanel(id: number) {
  const windows =
    // fill(0): an interval where no window arrived is exactly the gap this panel is for.
    `SELECT count(${features.field('count')}) AS "windows" FROM ${features.from} WHERE ${featureSelection} ${groupByTime('0', features.tag('sensor'))}`;
  const missing =
    `SELECT sum(${features.field('expected_count')}) - sum(${features.field('count')}) AS "missing", sum(${features.field('late_count')}) AS "late" ` +
    `FROM ${features.from} WHERE ${featureSelection} ${groupByTime('null', features.tag('sensor'))}`;
  return new timeseries.PanelBuilder()
    .id(id)
    .title('Gaps: windows received, missing and late readings')
    .description('Bars: windows received per interval (0 = gap). Lines: readings missing from received windows, and readings that arrived after their window closed.')
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(windows).refId('A').alias('windows $tag_sensor'))
    .withTarget(influx(missing).refId('B').alias('$col $tag_sensor'))
    .unit(units.Short)
    .decimals(0)
    .min(0)
    .showPoints(common.VisibilityMode.Never)
    .overrideByQuery('A', [
      { id: 'custom.drawStyle', value: common.GraphDrawStyle.Bars },
      { id: 'custom.fillOpacity', value: 40 },
    ])
    .withOverride(rightAxisOverride('B', units.Short))
    .legend(listLegend())
    .tooltip(sharedTooltip())
    .height(8)
    .span(12);
}

/** Feature panel for the row's sensor, with the machine's score and threshold on the right axis. */
function sensorPanel(id: number, title: string, description: string, select: string) {
  const query = `SELECT ${select} FROM ${features.from} WHERE ${featureSelection} ${groupByTime('null', features.tag('sensor'))}`;
  return new timeseries.PanelBuilder()
    .id(id)
    .title(title)
    .description(description)
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query).refId('A').alias('$col'))
    .withTarget(scoreAndThresholdQuery(SCORE_REF))
    .showPoints(common.VisibilityMode.Never)
    .lineWidth(1)
    .withOverride(rightAxisOverride(SCORE_REF, units.Number))
    .withOverride(thresholdLineOverride('threshold'))
    .overrideByName('score', [
      { id: 'color', value: { mode: 'fixed', fixedColor: 'dark-red' } },
      { id: 'custom.lineStyle', value: { fill: 'dot', dash: [2, 4] } },
    ])
    .legend(listLegend())
    .tooltip(sharedTooltip());
}

const levelPanel = (id: number) =>
  sensorPanel(
    id,
    '$sensor: level (mean ± std, rms)',
    'Window mean with a ±1 std band and the RMS, in the sensor unit; anomaly score on the right axis.',
    `mean(${features.field('mean')}) AS "mean", mean(${features.field('mean')}) - mean(${features.field('std')}) AS "mean - std", ` +
      `mean(${features.field('mean')}) + mean(${features.field('std')}) AS "mean + std", mean(${features.field('rms')}) AS "rms"`,
  )
    // The band: fill from the upper to the lower edge, edges drawn faintly and kept out of the legend.
    .overrideByName('mean + std', [
      { id: 'custom.fillBelowTo', value: 'mean - std' },
      { id: 'custom.fillOpacity', value: 20 },
      { id: 'custom.lineWidth', value: 0 },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } },
    ])
    .overrideByName('mean - std', [
      { id: 'custom.lineWidth', value: 0 },
      { id: 'custom.hideFrom', value: { legend: true, tooltip: false, viz: false } },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } },
    ])
    .overrideByName('mean', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } }, { id: 'custom.lineWidth', value: 2 }])
    .overrideByName('rms', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'green' } }])
    .height(8)
    .span(12);

const shapePanel = (id: number) =>
  sensorPanel(
    id,
    '$sensor: shape (kurtosis, crest factor)',
    'Kurtosis (3 = Gaussian; impacts from bearing damage raise it) and crest factor; anomaly score on the right axis.',
    `mean(${features.field('kurtosis')}) AS "kurtosis", mean(${features.field('crest_factor')}) AS "crest factor"`,
  )
    .overrideByName('kurtosis', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'purple' } }, { id: 'custom.lineWidth', value: 2 }])
    .overrideByName('crest factor', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } }])
    .height(8)
    .span(12);

function buildMachineDetail(): dashboard.Dashboard {
  const id = panelIds();
  return (
    new dashboard.DashboardBuilder(MACHINE_DETAIL.title)
      .uid(MACHINE_DETAIL.uid)
      .tags([...DASHBOARD_DEFAULTS.tags, 'machine'])
      .time(DASHBOARD_DEFAULTS.time)
      .refresh(DASHBOARD_DEFAULTS.refresh)
      .tooltip(dashboard.DashboardCursorSync.Crosshair)
      .withVariable(siteVariable(false))
      .withVariable(machineVariable(false))
      .withVariable(sensorVariable())
      .annotation(alertAnnotations())
      .annotation(alertActionAnnotations())
      .withPanel(currentScore(id()))
      .withPanel(rawScore(id()))
      .withPanel(completenessStat(id()))
      .withPanel(alertState(id()))
      .withPanel(scorePanel(id()))
      .withPanel(completenessPanel(id()))
      .withPanel(gapsPanel(id()))
      // One expanded row per selected sensor (Grafana repeats the row and the panels under it).
      .withRow(new dashboard.RowBuilder('Sensor $sensor').id(id()).repeat('sensor'))
      .withPanel(levelPanel(id()))
      .withPanel(shapePanel(id()))
      .build()
  );
}
