import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { bareWrites, fullestWindowStarts } from './bare-influx-write.js';

// The bare write re-posts exactly what the processor stored for one window start: a burst read back
// from InfluxDB, tags, fields and times as stored, into a database of its own.
describe('bare InfluxDB write of a stored burst', () => {
  let influx: RunningInflux;
  const database = uniqueDatabaseName('bench_source');
  // Three window starts, 10 s apart, at .250 s past the second; the middle one has a machine missing.
  const base = Date.UTC(2026, 0, 1, 0, 0, 0, 250);
  const lines = [0, 1, 2].flatMap((w) =>
    ['m1', 'm2', 'm3']
      .filter((m) => !(w === 1 && m === 'm3'))
      .flatMap((m) => [
        `sensor_features,site=s,gateway=g,machine=${m},sensor=temp mean=${w}.5,revision=${w},window_ms=10000 ${base + w * 10_000}`,
        `anomaly,site=s,machine=${m},model=pump score=0.${w},is_anomaly=false ${base + w * 10_000}`,
      ]),
  );

  beforeAll(async () => {
    influx = await startTestInflux();
    await influx.createDatabase(database);
    const res = await fetch(`${influx.url}/write?db=${database}&precision=ms`, { method: 'POST', body: lines.join('\n') });
    expect(res.status).toBe(204);
  });
  afterAll(async () => {
    await influx.stop();
  });

  it('picks the complete bursts, newest first, by the second they start in', async () => {
    const starts = await fullestWindowStarts(influx, database, 'sensor_features', base - 60_000, 2);
    // Whole seconds (the count is grouped by second): windows 2 and 0 have 3 machines, window 1 only 2.
    expect(starts).toEqual([base - 250 + 20_000, base - 250]);
  });

  it('posts every point of both measurements stored in that second, and leaves no database behind', async () => {
    const databasesBefore = await influx.query('SHOW DATABASES');
    const burst = (await bareWrites(influx, database, ['sensor_features', 'anomaly'], base - 250 + 10_000))[0]!;
    expect(burst.points).toBe(4); // window 1: m1 and m2, a sensor_features and an anomaly point each
    expect(burst.ms).toBeGreaterThan(0);
    expect(await influx.query('SHOW DATABASES')).toEqual(databasesBefore);
  });

  it('posts the same points as requests sent at once, split by machine', async () => {
    // Window 2: m1, m2 and m3; no machine is split, so at most one request per machine.
    const burst = (await bareWrites(influx, database, ['sensor_features', 'anomaly'], base - 250 + 20_000, [4]))[0]!;
    expect(burst.points).toBe(6);
    expect(burst.requests).toBeGreaterThan(1);
    expect(burst.requests).toBeLessThanOrEqual(3);
  });
});
