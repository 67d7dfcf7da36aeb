// Fleet overview: which machines look wrong right now, since when, and which sensors drive it.
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { INFLUX_DATASOURCE } from '../datasource.js';
import { influx } from '../influx-query.js';
import { TIME_FILTER, groupByTime, measurement, selectedMachines } from '../influxql.js';
import { CONTRIBUTION_FIELDS } from '../influxql.js';
import { alertAnnotations } from '../panels/alert-annotations.js';
import { openAlertCountQuery, openAlertsQuery } from '../panels/alert-queries.js';
import { anomalySelection } from '../panels/anomaly-queries.js';
import { panelIds } from '../panels/ids.js';
import { anyIsBadThresholds, scoreRatioThresholds, sharedTooltip, tableLegend } from '../panels/style.js';
import { machineVariable, siteVariable } from '../variables.js';
import { DASHBOARD_DEFAULTS, type DashboardSpec } from './spec.js';

const anomaly = measurement('anomaly');
const score = anomaly.field('score');
const threshold = anomaly.field('threshold');
const unscored = measurement('unscored');
const alerts = measurement('alerts');
const actions = measurement('alert_actions');
const drift = measurement('model_drift');

/** A machine is its id at its site: pump-1 at two plants is two machines, two series. */
const byMachine = [anomaly.tag('site'), anomaly.tag('machine')];
const MACHINE_ALIAS = '$tag_machine@$tag_site';

/** What the open-alert panels show; an alert opened before the range and still open is one. */
const OPEN_ALERTS_MEANING = 'Machines whose latest alert transition up to the end of the time range is "open", however long before the range it opened.';

export const FLEET_OVERVIEW: DashboardSpec = { uid: 'pdm-fleet-overview', title: 'PdM — Fleet overview', build: buildFleetOverview };

const lastNotNull = () => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

/** A count where anything above zero needs attention: red background or red value. */
function countStat(id: number, title: string, description: string, query: string, colorMode: common.BigValueColorMode) {
  return new stat.PanelBuilder()
    .id(id)
    .title(title)
    .description(description)
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query))
    .reduceOptions(lastNotNull())
    .thresholds(anyIsBadThresholds())
    .colorMode(colorMode)
    .graphMode(common.BigValueGraphMode.None)
    .noValue('0')
    .height(4)
    .span(6);
}

function machinesOverThreshold(id: number) {
  const query =
    `SELECT count("ratio") AS "machines" FROM (SELECT last(${score}) / last(${threshold}) AS "ratio" ` +
    `FROM ${anomaly.from} WHERE ${anomalySelection} GROUP BY ${byMachine.join(', ')}) WHERE "ratio" > 1`;
  return countStat(id, 'Machines over threshold', 'Machines whose latest window scored above their model threshold.', query, common.BigValueColorMode.Background);
}

function openAlertCount(id: number) {
  return countStat(id, 'Open alerts', OPEN_ALERTS_MEANING, openAlertCountQuery, common.BigValueColorMode.Background);
}

function anomalousWindows(id: number) {
  return countStat(
    id,
    'Anomalous windows in range',
    'Windows that scored above their model threshold in the selected time range.',
    `SELECT count(${score}) AS "anomalous" FROM ${anomaly.from} WHERE ${anomaly.field('is_anomaly')} = true AND ${anomalySelection}`,
    common.BigValueColorMode.Value,
  );
}

function worstScore(id: number) {
  return new stat.PanelBuilder()
    .id(id)
    .title('Worst score vs threshold in range')
    .description('Highest window score as a share of its model threshold; 100 % is the alarm line.')
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(`SELECT max("ratio") AS "worst" FROM (SELECT ${score} / ${threshold} AS "ratio" FROM ${anomaly.from} WHERE ${anomalySelection})`))
    .reduceOptions(lastNotNull())
    .unit(units.PercentUnit)
    .decimals(0)
    .thresholds(scoreRatioThresholds())
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.None)
    .height(4)
    .span(6);
}

function machinesRanked(id: number) {
  const query =
    `SELECT last(${score}) / last(${threshold}) AS "of_threshold", last(${score}) AS "score", last(${threshold}) AS "threshold" ` +
    `FROM ${anomaly.from} WHERE ${anomalySelection} GROUP BY ${[...byMachine, anomaly.tag('model')].join(', ')}`;
  return new table.PanelBuilder()
    .id(id)
    .title('Machines ranked by current anomaly score')
    .description('Latest window of each machine; "vs threshold" compares models of different scales.')
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query).format('table'))
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { of_threshold: 'vs threshold' } } })
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'vs threshold', desc: true }] } })
    .thresholds(scoreRatioThresholds())
    .overrideByName('vs threshold', [
      { id: 'unit', value: units.PercentUnit },
      { id: 'decimals', value: 0 },
      { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.Gauge, mode: common.BarGaugeDisplayMode.Basic } },
      { id: 'max', value: 2 },
      { id: 'min', value: 0 },
    ])
    .overrideByRegexp('^(score|threshold)$', [{ id: 'decimals', value: 2 }])
    .height(10)
    .span(12);
}

function openAlerts(id: number) {
  return new table.PanelBuilder()
    .id(id)
    .title('Open alerts')
    .description(OPEN_ALERTS_MEANING)
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(openAlertsQuery).format('table'))
    .withTransformation({ id: 'organize', options: { excludeByName: { alert_id: true }, renameByName: { Time: 'Opened' }, indexByName: { machine: 0, Time: 1, score: 2, message: 3, site: 4 } } })
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'score', desc: true }] } })
    .overrideByName('score', [
      { id: 'decimals', value: 2 },
      { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorText } },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    ])
    .noValue('No open alerts')
    .height(10)
    .span(12);
}

/** Machines missing from the panels above because no model scored some of their windows, and why. */
function machinesNotScored(id: number) {
  const query =
    `SELECT sum(${unscored.field('windows')}) AS "windows", last(${unscored.field('detail')}) AS "detail" FROM ${unscored.from} ` +
    `WHERE ${selectedMachines('unscored')} AND ${TIME_FILTER} ` +
    `GROUP BY ${unscored.tag('site')}, ${unscored.tag('machine')}, ${unscored.tag('reason')}`;
  return new table.PanelBuilder()
    .id(id)
    .title('Machines not scored')
    .description(
      'Machines with windows in the range that no model scored, so they have no anomaly score for them. ' +
        'no_model: no model is scoped to the machine (contract.json machines, pdm train --scope) and no model without a scope uses its sensors. ' +
        'contract_mismatch: its model refused the window, e.g. a silent sensor. ' +
        'held: the machine was stopped or changing speed or load (the model\'s running-state gate); scoring resumes once it runs steadily. Their features are stored.',
    )
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query).format('table'))
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true },
        renameByName: { windows: 'windows not scored', detail: 'latest detail' },
        indexByName: { machine: 0, reason: 1, windows: 2, detail: 3, site: 4 },
      },
    })
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'windows not scored', desc: true }] } })
    .noValue('Every window in range was scored')
    .height(7)
    .span(24);
}

/** Every alert transition in the range, with whether it was suppressed (its machine muted). */
function alertTransitions(id: number) {
  const query =
    `SELECT ${alerts.tag('machine')}, ${alerts.field('site')}, ${alerts.tag('state')}, ${alerts.field('suppressed')}, ${alerts.field('alert_id')}, ${alerts.field('message')} ` +
    `FROM ${alerts.from} WHERE ${selectedMachines('alerts')} AND ${TIME_FILTER}`;
  return new table.PanelBuilder()
    .id(id)
    .title('Alert transitions in range')
    .description('Opened and resolved alerts of the selected machines. suppressed: opened while the machine was muted (pdm alerts mute), recorded but not delivered.')
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query).format('table'))
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'Time', desc: true }] } })
    .noValue('No alert transition in range')
    .height(8)
    .span(12);
}

/** What the maintenance team did in the range (pdm alerts, the processor's API), labels included. */
function alertActions(id: number) {
  const query =
    `SELECT ${actions.tag('machine')}, ${actions.tag('site')}, ${actions.tag('action')}, ${actions.field('alert_id')}, ${actions.field('label')}, ${actions.field('cause')}, ` +
    `${actions.field('who')}, ${actions.field('note')}, ${actions.field('mute_until')} ` +
    `FROM ${actions.from} WHERE ${selectedMachines('alert_actions')} AND ${TIME_FILTER}`;
  return new table.PanelBuilder()
    .id(id)
    .title('Acknowledged, resolved, labelled, muted')
    .description('Actions on alerts in the range: ack, resolve (by hand), label (fault, false_alarm, maintenance, with a cause), mute until, unmute.')
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query).format('table'))
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'Time', desc: true }] } })
    .overrideByName('mute_until', [{ id: 'unit', value: 'dateTimeAsIso' }])
    .noValue('No action on alerts in range')
    .height(8)
    .span(12);
}

function scoreOverTime(id: number) {
  const query =
    `SELECT max(${score}) / last(${threshold}) AS "vs_threshold" FROM ${anomaly.from} WHERE ${anomalySelection} ` +
    groupByTime('null', ...byMachine);
  return new timeseries.PanelBuilder()
    .id(id)
    .title('Anomaly score vs threshold')
    .description('Worst window of each interval per machine (machine@site), as a share of its model threshold (dashed line = 100 %).')
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query).alias(MACHINE_ALIAS))
    .unit(units.PercentUnit)
    .min(0)
    .thresholds(scoreRatioThresholds())
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
    .lineWidth(1)
    .fillOpacity(5)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .legend(tableLegend(['max', 'lastNotNull']))
    .tooltip(sharedTooltip())
    .height(9)
    .span(12);
}

function anomaliesOverTime(id: number) {
  const query =
    `SELECT count(${score}) AS "anomalous" FROM ${anomaly.from} WHERE ${anomaly.field('is_anomaly')} = true AND ${anomalySelection} ` +
    // fill(0): an interval with no anomalous window had zero of them, not unknown.
    groupByTime('0', ...byMachine);
  return new timeseries.PanelBuilder()
    .id(id)
    .title('Anomalous windows over time')
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query).alias(MACHINE_ALIAS))
    .unit(units.Short)
    .decimals(0)
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(80)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
    .legend(tableLegend(['sum']))
    .tooltip(sharedTooltip())
    .height(9)
    .span(12);
}

function topContributors(id: number) {
  const query = `SELECT mean(${CONTRIBUTION_FIELDS}) FROM ${anomaly.from} WHERE ${anomaly.field('is_anomaly')} = true AND ${anomalySelection}`;
  return new bargauge.PanelBuilder()
    .id(id)
    .title('Top contributing sensors (anomalous windows)')
    .description("Mean share of the anomaly score per sensor over the range's anomalous windows of the selected machines.")
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(query).format('table'))
    // One row per sensor, largest share first.
    .withTransformation({ id: 'renameByRegex', options: { regex: '^mean_contrib_(.*)$', renamePattern: '$1' } })
    .withTransformation({ id: 'reduce', options: { reducers: ['lastNotNull'], mode: 'seriesToRows' } })
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'Last *', desc: true }] } })
    .reduceOptions(new common.ReduceDataOptionsBuilder().values(true).calcs([]).fields('/^Last/'))
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .unit(units.PercentUnit)
    .min(0)
    .max(1)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.ContinuousYlRd))
    .noValue('No anomalous windows in range')
    .height(10)
    .span(24);
}

/**
 * How far each served model version's recent windows moved from its training data (worst feature PSI,
 * the worst processor instance), against the retrain threshold the processors judge it by.
 */
function modelDrift(id: number) {
  const psi = `SELECT max(${drift.field('psi')}) AS "psi" FROM ${drift.from} WHERE ${TIME_FILTER} ` + groupByTime('null', drift.tag('model'), drift.tag('version'));
  const threshold = `SELECT max(${drift.field('threshold')}) AS "retrain threshold" FROM ${drift.from} WHERE ${TIME_FILTER} ` + groupByTime('null');
  return new timeseries.PanelBuilder()
    .id(id)
    .title('Model drift (PSI) vs retrain threshold')
    .description(
      "Population stability index of each served model version's worst feature: its last 1,000 scored windows against its training data " +
        '(feature-profile.json). Below 0.1 no shift, 0.1–0.25 moderate; above the dashed threshold (model.driftRetrainPsi, 0.25) retrain it. ' +
        'All machines the model serves; `pdm models list` names the feature. Models trained before profiles report none.',
    )
    .datasource(INFLUX_DATASOURCE)
    .withTarget(influx(psi).alias('$tag_model@$tag_version'))
    .withTarget(influx(threshold).refId('B').alias('retrain threshold'))
    .overrideByName('retrain threshold', [
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    ])
    .decimals(2)
    .min(0)
    .lineWidth(1)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(true)
    .legend(tableLegend(['max', 'lastNotNull']))
    .tooltip(sharedTooltip())
    .height(8)
    .span(24);
}

function buildFleetOverview(): dashboard.Dashboard {
  const id = panelIds();
  return new dashboard.DashboardBuilder(FLEET_OVERVIEW.title)
    .uid(FLEET_OVERVIEW.uid)
    .tags([...DASHBOARD_DEFAULTS.tags, 'fleet'])
    .time(DASHBOARD_DEFAULTS.time)
    .refresh(DASHBOARD_DEFAULTS.refresh)
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(siteVariable(true))
    .withVariable(machineVariable(true))
    .annotation(alertAnnotations())
    .withPanel(machinesOverThreshold(id()))
    .withPanel(openAlertCount(id()))
    .withPanel(anomalousWindows(id()))
    .withPanel(worstScore(id()))
    .withPanel(machinesRanked(id()))
    .withPanel(openAlerts(id()))
    .withPanel(machinesNotScored(id()))
    .withPanel(alertTransitions(id()))
    .withPanel(alertActions(id()))
    .withPanel(scoreOverTime(id()))
    .withPanel(anomaliesOverTime(id()))
    .withPanel(topContributors(id()))
    .withPanel(modelDrift(id()))
    .build();
}
