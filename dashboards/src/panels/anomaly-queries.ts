// Anomaly queries used on more than one panel.
import { influx, type InfluxQueryBuilder } from '../influx-query.js';
import { TIME_FILTER, groupByTime, measurement, selectedMachines } from '../influxql.js';

const anomaly = measurement('anomaly');

/** The selected machines of the dashboard in the time range, for the `anomaly` measurement. */
export const anomalySelection = `${selectedMachines('anomaly')} AND ${TIME_FILTER}`;

/**
 * A machine's score (worst window of each interval) and its model's threshold, as `score` and
 * `threshold` series: drawn over feature panels so a feature's excursion lines up with the score.
 */
export function scoreAndThresholdQuery(refId: string): InfluxQueryBuilder {
  return influx(
    `SELECT max(${anomaly.field('score')}) AS "score", last(${anomaly.field('threshold')}) AS "threshold" ` +
      `FROM ${anomaly.from} WHERE ${anomalySelection} ${groupByTime('null')}`,
  )
    .refId(refId)
    .alias('$col');
}

