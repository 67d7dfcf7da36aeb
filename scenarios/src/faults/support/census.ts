// What InfluxDB holds per window, counted so that a duplicate cannot hide. InfluxDB keys a point by
// measurement + tag set + timestamp, so the same window written twice with the same tags and time
// overwrites itself (idempotent, by design). A duplicate a user would see is therefore a second
// point for the same (machine, window_start[, sensor]) under a different tag set or at another
// timestamp (e.g. a redelivery stamped with processing time): the census groups by every tag and
// counts points per window and sensor across all of them, and records every timestamp it finds.
import type { RunningInflux } from '@pdm/influx-harness';
import { type WindowKey, windowKey } from './windows.js';

export interface SensorPoints {
  /** Points stored for this window and sensor, over every tag set. */
  points: number;
  count: number;
  expectedCount: number;
  mean: number;
  variance: number;
}

export interface WindowCensus {
  /** `sensor_features`: window → sensor → its points. */
  features: Map<WindowKey, Map<string, SensorPoints>>;
  /** `anomaly`: window → number of points. */
  anomaly: Map<WindowKey, number>;
}

interface Row {
  tags: Record<string, string>;
  values: Record<string, unknown>;
}

async function rows(influx: RunningInflux, statement: string): Promise<Row[]> {
  const response = await influx.query(statement, 'pdm');
  return (response.results[0]?.series ?? []).flatMap((series) =>
    series.values.map((values) => ({ tags: series.tags ?? {}, values: Object.fromEntries(series.columns.map((c, i) => [c, values[i]])) })),
  );
}

export async function takeCensus(influx: RunningInflux): Promise<WindowCensus> {
  const features = new Map<WindowKey, Map<string, SensorPoints>>();
  for (const { tags, values } of await rows(influx, 'SELECT "count", "expected_count", "mean", "variance" FROM "sensor_features" GROUP BY *')) {
    const key = windowKey(tags['machine'] ?? '', Number(values['time']));
    const sensors = features.get(key) ?? new Map<string, SensorPoints>();
    features.set(key, sensors);
    const sensor = tags['sensor'] ?? '';
    const seen = sensors.get(sensor);
    sensors.set(sensor, {
      points: (seen?.points ?? 0) + 1,
      count: Number(values['count']),
      expectedCount: Number(values['expected_count']),
      mean: Number(values['mean']),
      variance: Number(values['variance']),
    });
  }
  const anomaly = new Map<WindowKey, number>();
  for (const { tags, values } of await rows(influx, 'SELECT "score" FROM "anomaly" GROUP BY *')) {
    const key = windowKey(tags['machine'] ?? '', Number(values['time']));
    anomaly.set(key, (anomaly.get(key) ?? 0) + 1);
  }
  return { features, anomaly };
}
