// Queries over the `alerts` measurement. Alerts are written on transitions only (opened, resolved), so
// "open" at the end of the time range is the latest transition up to that end, however old: an alert
// that opened last week and is still open must show on a one-hour range.
import { UNTIL_RANGE_END, measurement, selectedMachines } from '../influxql.js';
import { ALERT_STATE } from '@pdm/cloud-processor/influx-series';

const alerts = measurement('alerts');

/** The selected machines' transitions up to the end of the time range. */
export const alertsUntilRangeEnd = `${selectedMachines('alerts')} AND ${UNTIL_RANGE_END}`;

/**
 * Latest transition per machine, restricted to machines whose latest state is open. Per machine id
 * only: `site` is a field of `alerts`, which InfluxQL cannot group by, so with several sites selected
 * a machine id used at two of them shows the later of their transitions.
 */
export const openAlertsQuery =
  `SELECT ${alerts.field('score')}, ${alerts.field('message')}, ${alerts.field('alert_id')}, ${alerts.field('site')} ` +
  `FROM (SELECT last(${alerts.field('score')}) AS "score", ${alerts.tag('state')}, ${alerts.field('message')}, ${alerts.field('alert_id')}, ${alerts.field('site')} ` +
  `FROM ${alerts.from} WHERE ${alertsUntilRangeEnd} GROUP BY ${alerts.tag('machine')}) ` +
  `WHERE ${alerts.tag('state')} = '${ALERT_STATE.open}' GROUP BY ${alerts.tag('machine')}`;

/** How many machines have an open alert at the end of the time range. */
export const openAlertCountQuery = `SELECT count("score") AS "open_alerts" FROM (${openAlertsQuery})`;
