// The bare InfluxDB write of one burst the pipeline stored: every point the processor wrote for the
// windows that started at one instant (all machines' 10 s windows of one boundary), read back from
// InfluxDB and posted again, as line protocol, over keep-alive connections into a database of its own,
// in one HTTP request or split by machine into several sent at once (InfluxDB handles one request on one
// core): the processor's own writer, serializer and split (@pdm/cloud-processor's InfluxWrite,
// toLineProtocol and partitionByMachine), as the processor benchmark measures its ceiling. What the
// sink adds on top of the faster of them is the pipeline's cost, not InfluxDB's.
import { InfluxWrite, partitionByMachine, toLineProtocol } from '@pdm/cloud-processor';
import { uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';

type IPoint = Parameters<typeof toLineProtocol>[0][number];

export interface BareWrite {
  windowStartMs: number;
  points: number;
  /** Requests sent at once (the burst split by machine). */
  requests: number;
  ms: number;
}

/** The points of `measurements` stored in the second from `windowStartMs` in `database`, tags, fields and times as stored. */
async function storedPoints(influx: RunningInflux, database: string, measurements: readonly string[], windowStartMs: number): Promise<IPoint[]> {
  const points: IPoint[] = [];
  for (const measurement of measurements) {
    // The second the bursts were counted by (fullestWindowStarts), whatever the windows' milliseconds.
    const response = await influx.query(`SELECT * FROM "${measurement}" WHERE time >= ${windowStartMs}ms AND time < ${windowStartMs + 1000}ms GROUP BY *`, database);
    for (const series of response.results[0]?.series ?? []) {
      const columns = series.columns;
      for (const row of series.values) {
        const fields: Record<string, number | string | boolean> = {};
        let timestamp = windowStartMs;
        columns.forEach((column, i) => {
          const value = row[i];
          if (column === 'time') timestamp = typeof value === 'number' ? value : Date.parse(String(value));
          else if (value !== null && value !== undefined) fields[column] = value as number | string | boolean;
        });
        points.push({ measurement, tags: series.tags ?? {}, fields, timestamp });
      }
    }
  }
  return points;
}

/**
 * The `bursts` window starts with the most `measurement` points stored since `sinceMs` (the complete
 * boundaries: every machine's window stored), newest first among equals.
 */
export async function fullestWindowStarts(influx: RunningInflux, database: string, measurement: string, sinceMs: number, bursts: number): Promise<number[]> {
  const response = await influx.query(`SELECT count("revision") FROM "${measurement}" WHERE time >= ${sinceMs}ms GROUP BY time(1s) fill(none)`, database);
  const rows = (response.results[0]?.series?.[0]?.values ?? []) as Array<[string | number, number]>;
  return rows
    .map(([time, points]) => ({ start: typeof time === 'number' ? time : Date.parse(time), points }))
    .sort((a, b) => b.points - a.points || b.start - a.start)
    .slice(0, bursts)
    .map((row) => row.start);
}

/**
 * Reads back the burst stored at `windowStartMs` once and times its bare write in each of `shapes`: a
 * number of requests sent at once (1: one request).
 */
export async function bareWrites(influx: RunningInflux, database: string, measurements: readonly string[], windowStartMs: number, shapes: readonly number[] = [1]): Promise<BareWrite[]> {
  const points = await storedPoints(influx, database, measurements, windowStartMs);
  const lines = points.map((point) => Buffer.from(`${toLineProtocol([point])}\n`));
  const writes: BareWrite[] = [];
  for (const requests of shapes) writes.push({ windowStartMs, points: points.length, ...(await timedWrite(influx, lines, requests)) });
  return writes;
}

/** Posts `lines` into a database of its own, split by machine into `requests` requests sent at once. */
async function timedWrite(influx: RunningInflux, lines: Buffer[], requests: number): Promise<Pick<BareWrite, 'requests' | 'ms'>> {
  const bodies = partitionByMachine(lines, requests).map((part) => Buffer.concat(part));
  const target = uniqueDatabaseName('bench_bare');
  await influx.createDatabase(target);
  const writer = new InfluxWrite({ url: influx.url, database: target, requestTimeoutMs: 60_000, maxSockets: requests });
  // The connections opened, as the sink's are.
  await Promise.all(bodies.map(() => writer.write('warm_up value=1 0')));
  const started = performance.now();
  await Promise.all(bodies.map((body) => writer.write(body)));
  const ms = performance.now() - started;
  await influx.dropDatabase(target);
  return { requests: bodies.length, ms };
}
