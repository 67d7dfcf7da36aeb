// Queries over the `alerts` measurement. Alerts are written on transitions only (opened, resolved), so
// "open now" looks back over the whole raw retention, not the dashboard's time range: an alert that
// opened last week and is still open must show.
import { measurement } from '../influxql.js';
import { ALERT_STATE } from '@pdm/cloud-processor/influx-series';

/** The processor's raw retention (INFLUX_SINK_DEFAULTS.rawRetention): nothing older exists. */
export const ALERT_LOOKBACK = '30d';

const alerts = measurement('alerts');

/** Latest transition per machine, restricted to machines whose latest state is open. */
export const openAlertsQuery =
  `SELECT ${alerts.field('score')}, ${alerts.field('message')}, ${alerts.field('alert_id')}, ${alerts.field('site')} ` +
  `FROM (SELECT last(${alerts.field('score')}) AS "score", ${alerts.tag('state')}, ${alerts.field('message')}, ${alerts.field('alert_id')}, ${alerts.field('site')} ` +
  `FROM ${alerts.from} WHERE ${alerts.matches('machine')} AND time > now() - ${ALERT_LOOKBACK} GROUP BY ${alerts.tag('machine')}) ` +
  `WHERE ${alerts.tag('state')} = '${ALERT_STATE.open}' GROUP BY ${alerts.tag('machine')}`;

/** How many machines have an open alert now. */
export const openAlertCountQuery = `SELECT count("score") AS "open_alerts" FROM (${openAlertsQuery})`;
