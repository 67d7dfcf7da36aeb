import { describe, expect, it } from 'vitest';
import { INFLUX_DATASOURCE } from './datasource.js';
import { influx } from './influx-query.js';
import { groupByTime, measurement, showTagValues } from './influxql.js';

describe('InfluxQueryBuilder', () => {
  it("builds Grafana's raw InfluxQL target model, with nothing else in its JSON", () => {
    const built = influx('SELECT 1').refId('B').format('table').alias('$tag_machine').build();
    expect(JSON.parse(JSON.stringify(built))).toEqual({
      refId: 'B',
      query: 'SELECT 1',
      rawQuery: true,
      resultFormat: 'table',
      alias: '$tag_machine',
      datasource: INFLUX_DATASOURCE,
    });
  });

  it('defaults to refId A, time series and the provisioned datasource; carries annotation columns', () => {
    const built = influx('SELECT 1').annotationColumns({ text: 'message', tags: 'state' }).build();
    expect(built).toMatchObject({ refId: 'A', resultFormat: 'time_series', datasource: INFLUX_DATASOURCE, textColumn: 'message', tagsColumn: 'state' });
    expect(built.titleColumn).toBeUndefined();
  });
});

describe('InfluxQL pieces', () => {
  it('quote names and match template variables in the regex form Grafana interpolates', () => {
    const anomaly = measurement('anomaly');
    expect(anomaly.from).toBe('"anomaly"');
    expect(anomaly.field('score')).toBe('"score"');
    expect(anomaly.matches('machine')).toBe('"machine" =~ /^$machine$/');
    expect(groupByTime('null', anomaly.tag('machine'))).toBe('GROUP BY time($__interval), "machine" fill(null)');
    expect(showTagValues('sensor_features', 'machine', ['site'])).toBe('SHOW TAG VALUES FROM "sensor_features" WITH KEY = "machine" WHERE "site" =~ /^$site$/');
  });

  it('narrow tag values by a fixed tag value before the variables', () => {
    expect(measurement('pipeline').equals('component', 'edge-gateway')).toBe(`"component" = 'edge-gateway'`);
    expect(showTagValues('pipeline', 'instance', ['site'], { component: 'edge-gateway' })).toBe(
      `SHOW TAG VALUES FROM "pipeline" WITH KEY = "instance" WHERE "component" = 'edge-gateway' AND "site" =~ /^$site$/`,
    );
  });

  it('refuse a name the measurement does not have, naming it and the measurement', () => {
    expect(() => measurement('alerts').field('rms' as 'score')).toThrow('"rms" is not one of the fields of alerts');
  });
});
