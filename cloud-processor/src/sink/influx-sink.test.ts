import { freePort, startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeWindow, SENSORS, T0 } from '../test-support/windows.js';
import { InfluxSink } from './influx-sink.js';
import { INFLUX_SINK_DEFAULTS, type InfluxSinkOptions } from './options.js';
import { continuousQueryName } from './schema-setup.js';
import { InfluxWriteRefused } from './influx-write.js';
import { TransientError } from '../shared/transient-error.js';
import { InfluxDB } from 'influx';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anomalyPoint, featurePoints } from './points.js';
import type { WindowScore } from '../model/api.js';
import { SENSOR_STAT_ENTRIES } from '@pdm/proto';
import { answerByDatabase, standInInflux } from './test-support/stand-in-influx.js';

/** The values of every series a statement answers. */
async function rowsOf(influx: RunningInflux, statement: string, database: string): Promise<unknown[][]> {
  const response = await influx.query(statement, database);
  const result = response.results[0];
  if (result?.error) throw new Error(result.error);
  return result?.series?.flatMap((s) => s.values) ?? [];
}

describe('InfluxSink against a real influxd', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx.stop();
  });

  const options = (overrides: Partial<InfluxSinkOptions> = {}): InfluxSinkOptions => ({
    ...INFLUX_SINK_DEFAULTS,
    url: influx.url,
    database: uniqueDatabaseName('sink'),
    batchMaxDelayMs: 1,
    ...overrides,
  });

  const rows = (statement: string, database: string) => rowsOf(influx, statement, database);

  it('creates database, retention policies and continuous queries, and doing it again changes nothing', async () => {
    const opts = options();
    const sink = new InfluxSink(opts);
    await sink.start();
    await sink.start(); // a second instance, or a restart
    const policies = await rows('SHOW RETENTION POLICIES', opts.database);
    const byName = new Map(policies.map((p) => [p[0], p]));
    expect(byName.get('raw')?.[1]).toBe('720h0m0s');
    expect(byName.get('raw')?.[4]).toBe(true); // default
    expect(byName.get('downsampled')?.[1]).toBe('8760h0m0s');
    const cqs = (await influx.query('SHOW CONTINUOUS QUERIES')).results[0]?.series?.find((s) => s.name === opts.database)?.values ?? [];
    expect(cqs.map((cq) => cq[0]).sort()).toEqual(
      ['anomaly', 'anomaly_shadow', 'sensor_features'].flatMap((m) => ['1h', '1m'].map((i) => continuousQueryName(m, i))).sort(),
    );
    // Each interval is computed again one interval later (the test below shows why).
    for (const [name, definition] of cqs) expect({ name, resample: /RESAMPLE FOR (\w+)/.exec(String(definition))?.[1] }).toEqual({ name, resample: String(name).endsWith('_1m') ? '2m' : '2h' });
  });

  it('replaces a continuous query an older processor created without resampling', async () => {
    const opts = options();
    const db = new InfluxDB({ host: '127.0.0.1', port: Number(new URL(influx.url).port), database: opts.database });
    await new InfluxSink({ ...opts, downsampleIntervals: [] }).start(); // database and policies, no CQ
    const old = `SELECT mean(*) INTO "${opts.database}"."downsampled"."anomaly_1m" FROM "${opts.database}"."raw"."anomaly" GROUP BY time(1m), *`;
    await db.createContinuousQuery(continuousQueryName('anomaly', '1m'), old, opts.database);
    await new InfluxSink(opts).start();
    await new InfluxSink(opts).start();
    const cqs = (await influx.query('SHOW CONTINUOUS QUERIES')).results[0]?.series?.find((s) => s.name === opts.database)?.values ?? [];
    expect(cqs).toHaveLength(6);
    const definition = String(cqs.find((cq) => cq[0] === continuousQueryName('anomaly', '1m'))?.[1]);
    expect(definition).toContain('RESAMPLE FOR 2m');
    expect(definition).toContain('GROUP BY time(1m), *');
  });

  it('replaces a sensor_features query that averaged every field, and keeps its own on the next start', async () => {
    const opts = options({ downsampleIntervals: ['60s', '1h'] }); // 60s: influxd writes it back as 1m
    const db = new InfluxDB({ host: '127.0.0.1', port: Number(new URL(influx.url).port), database: opts.database });
    await new InfluxSink({ ...opts, downsampleIntervals: [] }).start();
    const old = `SELECT mean(*) INTO "${opts.database}"."downsampled"."sensor_features_60s" FROM "${opts.database}"."raw"."sensor_features" GROUP BY time(60s), *`;
    await db.createContinuousQuery(continuousQueryName('sensor_features', '60s'), old, opts.database, 'RESAMPLE FOR 120s');
    await new InfluxSink(opts).start();
    const definitions = async () => new Map((await influx.query('SHOW CONTINUOUS QUERIES')).results[0]?.series?.find((s) => s.name === opts.database)?.values?.map(([name, query]) => [String(name), String(query)]));
    const replaced = (await definitions()).get(continuousQueryName('sensor_features', '60s'));
    expect(replaced).toContain('RESAMPLE FOR 2m');
    expect(replaced).not.toContain('mean(*)');
    expect(replaced).toContain('mean(mean) AS mean_mean');
    const drops = vi.spyOn(InfluxDB.prototype, 'dropContinuousQuery');
    try {
      await new InfluxSink(opts).start();
      expect(drops).not.toHaveBeenCalled();
    } finally {
      drops.mockRestore();
    }
    expect(await definitions()).toHaveLength(6);
  });

  // influxd's own scheduler runs the CQ (every 5 s here), so this test takes up to ~20 s of wall clock.
  it('downsamples an interval again once its last window was stored after the interval ended', async () => {
    const opts = options({ downsampleIntervals: ['5s'] });
    await new InfluxSink(opts).start();
    const write = async (line: string) => {
      const response = await fetch(`${influx.url}/write?db=${opts.database}&rp=raw&precision=ms`, { method: 'POST', body: line });
      expect(response.status).toBe(204);
    };
    const waitUntil = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now())));
    const interval = Math.ceil(Date.now() / 5_000) * 5_000;
    await waitUntil(interval + 200);
    await write(`anomaly,machine=m-1,site=s-1 score=1 ${interval + 1_000}`);
    // After influxd computed the interval (at its end): its last window arrives, as the pipeline's does.
    await waitUntil(interval + 6_500);
    await write(`anomaly,machine=m-1,site=s-1 score=3 ${interval + 4_000}`);
    const downsampled = async () => rows(`SELECT mean_score FROM "downsampled"."anomaly_5s" WHERE time = ${interval}ms`, opts.database);
    await vi.waitFor(async () => expect(await downsampled()).toEqual([[interval, 2]]), { timeout: 15_000, interval: 500 });
  }, 30_000);

  it('computes the downsampled means again for windows stored long after their interval, at flush', async () => {
    const ranges: unknown[] = [];
    const opts = options();
    const sink = new InfluxSink(opts, { downsampleBackfilled: (range, error) => ranges.push({ ...range, error }) });
    await sink.start();
    // Two minutes of one machine, weeks old (T0): no continuous query will ever read them.
    const windows = Array.from({ length: 12 }, (_, index) => makeWindow({ machine: 'pump-9', index }));
    await Promise.all(windows.map((window) => sink.writeScoredWindow(window, undefined)));
    await sink.flush();
    expect(ranges).toEqual([
      { interval: '1m', fromMs: T0, toMs: T0 + 120_000, error: undefined },
      { interval: '1h', fromMs: T0, toMs: T0 + 3_600_000, error: undefined },
    ]);
    const temp = (w: (typeof windows)[number]) => w.sensors.find((s) => s.sensorId === 'temp')!.mean;
    const meanOf = (ws: typeof windows) => ws.reduce((sum, w) => sum + temp(w), 0) / ws.length;
    const stored = await rows(`SELECT mean_mean FROM "downsampled"."sensor_features_1m" WHERE sensor = 'temp' AND machine = 'pump-9'`, opts.database);
    expect(stored.map(([time]) => time)).toEqual([T0, T0 + 60_000]);
    expect(stored[0]![1]).toBeCloseTo(meanOf(windows.slice(0, 6)), 9);
    expect(stored[1]![1]).toBeCloseTo(meanOf(windows.slice(6)), 9);
    const hourly = await rows(`SELECT mean_mean FROM "downsampled"."sensor_features_1h" WHERE sensor = 'temp' AND machine = 'pump-9'`, opts.database);
    expect(hourly).toHaveLength(1);
    expect(hourly[0]![1]).toBeCloseTo(meanOf(windows), 9);
    // The statistics' means, not those of the bookkeeping fields (revision, feature_version, window_ms).
    const fields = await rows('SHOW FIELD KEYS FROM "downsampled"."sensor_features_1m"', opts.database);
    expect(fields.map(([name]) => name).sort()).toEqual(SENSOR_STAT_ENTRIES.map(([stat]) => `mean_${stat}`).sort());
  });

  it('reports a backfill InfluxDB refuses, and writes go on', async () => {
    const ranges: { error?: Error }[] = [];
    const opts = options();
    await new InfluxSink(opts).start();
    // The downsampled policy is gone: SELECT … INTO it fails.
    await influx.query(`DROP RETENTION POLICY "downsampled" ON "${opts.database}"`);
    const sink = new InfluxSink({ ...opts, downsampleIntervals: ['1m'] }, { downsampleBackfilled: (_range, error) => ranges.push({ error }) });
    await sink.writeScoredWindow(makeWindow({ machine: 'pump-9', index: 0 }), undefined);
    await sink.flush();
    expect(ranges).toHaveLength(1);
    expect(ranges[0]!.error?.message).toMatch(/InfluxDB refused the backfill of sensor_features_1m: .*downsampled/);
    await sink.writeScoredWindow(makeWindow({ machine: 'pump-9', index: 1 }), undefined);
    await sink.flush();
    expect(await rows('SELECT count(mean) FROM sensor_features', opts.database)).toEqual([[0, 2 * SENSORS.length]]);
  });

  it('alters an existing policy to the configured duration on start', async () => {
    const opts = options();
    await new InfluxSink(opts).start();
    await new InfluxSink({ ...opts, rawRetention: { name: 'raw', duration: '7d' } }).start();
    const raw = (await rows('SHOW RETENTION POLICIES', opts.database)).find((p) => p[0] === 'raw');
    expect(raw?.[1]).toBe('168h0m0s');
  });

  it('writes one point per sensor at window_start with the fixed tags, and a redelivered window overwrites it', async () => {
    const opts = options();
    const sink = new InfluxSink(opts);
    await sink.start();
    const window = makeWindow({ machine: 'pump-7', index: 3 });
    await sink.writeScoredWindow(window, undefined);
    await sink.writeScoredWindow(window, undefined); // redelivery
    await sink.writeScoredWindow(makeWindow({ machine: 'pump-7', index: 3, revision: 1 }), undefined); // late revision
    const counts = await rows('SELECT COUNT(mean) FROM sensor_features GROUP BY sensor', opts.database);
    expect(counts.map((r) => r[1])).toEqual(SENSORS.map(() => 1));
    const [point] = await rows(`SELECT * FROM sensor_features WHERE sensor = 'temp'`, opts.database);
    const columns = (await influx.query(`SELECT * FROM sensor_features WHERE sensor = 'temp'`, opts.database)).results[0]!.series![0]!.columns;
    const value = (name: string) => point![columns.indexOf(name)];
    expect(value('time')).toBe(T0 + 3 * 10_000);
    expect(value('machine')).toBe('pump-7');
    expect(value('site')).toBe('plant-1');
    expect(value('gateway')).toBe('gw-1');
    expect(value('revision')).toBe(1);
    expect(value('expected_count')).toBe(100);
  });

  it('stores scored windows exactly as the influx client stored their points, hostile names and non-finite statistics included', async () => {
    const hostile = ['a b', 'a,b', 'a=b', 'say "hi"', "it's", 'ü€🙂', '12'];
    const windows = hostile.map((name, i) => {
      const window = makeWindow({ machine: name, site: `site ${name}`, gateway: name, index: i, revision: i % 2, sensors: [name, 'temp', String(i)] });
      window.sensors[1]!.skewness = i % 2 === 0 ? Number.NaN : 1 / 3;
      return window;
    });
    const scores = windows.map((w, i): WindowScore => ({
      siteId: w.siteId, machineId: w.machineId, windowStart: Number(w.windowStart), windowEnd: Number(w.windowEnd), model: hostile[i]!, modelVersion: hostile[i]!,
      score: 1 / (i + 0.3), threshold: 2, isAnomaly: i % 2 === 0, contributions: Object.fromEntries(w.sensors.map((s, k) => [s.sensorId, k / 7])),
    }));
    const opts = options();
    const sink = new InfluxSink(opts);
    await sink.start();
    await Promise.all(windows.map((w, i) => sink.writeScoredWindow(w, scores[i], [scores[i]!])));
    const before = uniqueDatabaseName('sink_client');
    await new InfluxSink({ ...opts, database: before }).start();
    const points = windows.flatMap((w, i) => [...featurePoints(w).points, ...anomalyPoint(scores[i]!).points, ...anomalyPoint(scores[i]!, 'anomaly_shadow').points]);
    await new InfluxDB({ host: influx.host, port: influx.port, database: before }).writePoints(points, { precision: 'ms' });
    for (const statement of ['SELECT * FROM /.*/ GROUP BY *', 'SHOW FIELD KEYS', 'SHOW TAG KEYS']) {
      const stored = (database: string) => influx.query(statement, database).then((r) => r.results[0]?.series ?? []);
      expect(await stored(opts.database)).toEqual(await stored(before));
    }
    expect(await rows('SELECT COUNT(mean) FROM sensor_features', opts.database)).toEqual([[0, 3 * hostile.length]]);
    expect(await rows('SELECT COUNT(score) FROM anomaly_shadow', opts.database)).toEqual([[0, hostile.length]]);
  });

  it('batches concurrent writes into one request and resolves each only after the batch is stored', async () => {
    const opts = options({ batchMaxPoints: 9, batchMaxDelayMs: 60_000 });
    const batches: number[] = [];
    const sink = new InfluxSink(opts, { batchWritten: (points) => batches.push(points) });
    await sink.start();
    // 3 windows × 3 sensors = 9 points: the size bound sends them as one batch; the 60 s delay never fires.
    await Promise.all([0, 1, 2].map((index) => sink.writeScoredWindow(makeWindow({ index }), undefined)));
    expect(batches).toEqual([9]);
    const [[, count]] = (await rows('SELECT COUNT(mean) FROM sensor_features', opts.database)) as [[string, number]];
    expect(count).toBe(9);
  });

  it('splits a batch larger than batchMaxPoints into requests of that size, resolving once all are stored', async () => {
    const opts = options({ batchMaxPoints: 2 });
    const requests: number[] = [];
    const sink = new InfluxSink(opts, { batchWritten: (points) => requests.push(points) });
    await sink.start();
    const window = makeWindow(); // 3 sensors: 3 feature points and 1 anomaly point in one message
    const start = Number(window.windowStart);
    const score = { siteId: window.siteId, machineId: window.machineId, windowStart: start, windowEnd: start + 10_000, model: 'pump', modelVersion: '1', score: 0.5, threshold: 1, isAnomaly: false, contributions: {} };
    await sink.writeScoredWindow(window, score);
    expect(requests).toEqual([2, 2]);
    expect(await rows('SELECT COUNT(mean) FROM sensor_features', opts.database)).toEqual([[0, 3]]);
    expect(await rows('SELECT score FROM anomaly', opts.database)).toEqual([[start, 0.5]]);
  });

  /**
   * A proxy in front of influxd that records each /write request's lines and how many were in flight
   * together: a write waits (up to 1 s) for a second one before it goes on, so requests sent at once
   * are seen together however fast influxd answers.
   */
  async function writeRecorder(): Promise<{ url: string; writes: string[][]; maxInFlight: () => number; close: () => Promise<void> }> {
    const writes: string[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let arrived: () => void = () => {};
    const server: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const forward = async () => {
          const answer = await fetch(`${influx.url}${request.url}`, { method: request.method, body: request.method === 'POST' ? body : undefined });
          response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          response.end(Buffer.from(await answer.arrayBuffer()));
        };
        if (!request.url?.startsWith('/write')) return void forward();
        writes.push(body.toString().trimEnd().split('\n'));
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        const second = new Promise<void>((resolve) => {
          const previous = arrived;
          arrived = () => (previous(), resolve());
          setTimeout(resolve, 1_000);
        });
        if (inFlight > 1) arrived();
        void second.then(forward).finally(() => inFlight--);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, writes, maxInFlight: () => maxInFlight, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  /** One window of each machine, written in one batch through the recorder with `parallelRequests`. */
  async function writeThroughRecorder(parallelRequests: number, machines: string[]) {
    const recorder = await writeRecorder();
    try {
      const opts = options({ url: recorder.url, parallelRequests, batchMaxPoints: 1_000, batchMaxDelayMs: 60_000 });
      const sink = new InfluxSink(opts);
      await sink.start();
      const writes = machines.map((machine) => sink.writeScoredWindow(makeWindow({ machine }), undefined));
      await sink.flush();
      await Promise.all(writes);
      return { writes: recorder.writes, maxInFlight: recorder.maxInFlight(), database: opts.database };
    } finally {
      await recorder.close();
    }
  }

  it('writes a batch as parallelRequests requests at once, each machine in one of them, and resolves once all are stored', async () => {
    const machines = Array.from({ length: 20 }, (_, i) => `pump-${i}`);
    const { writes, maxInFlight, database } = await writeThroughRecorder(2, machines);
    expect(writes).toHaveLength(2);
    expect(maxInFlight).toBe(2);
    // Every machine's three points in one request, none lost.
    const requestOf = new Map<string, number>();
    writes.forEach((lines, request) => {
      for (const line of lines) {
        const machine = /,machine=([^,]+),/.exec(line)![1]!;
        expect(requestOf.get(machine) ?? request).toBe(request);
        requestOf.set(machine, request);
      }
    });
    expect([...requestOf.keys()].sort()).toEqual([...machines].sort());
    expect(writes.flat()).toHaveLength(machines.length * SENSORS.length);
    expect(await rows('SELECT COUNT(mean) FROM sensor_features', database)).toEqual([[0, machines.length * SENSORS.length]]);
  });

  it('with parallelRequests 1 writes a batch as one request', async () => {
    const { writes, maxInFlight } = await writeThroughRecorder(1, ['pump-1', 'pump-2', 'pump-3']);
    expect(writes.map((lines) => lines.length)).toEqual([3 * SENSORS.length]);
    expect(maxInFlight).toBe(1);
  });

  it('rejects only the write refused in one of a batch\'s parallel requests; the others are stored and resolve', async () => {
    const opts = options({ parallelRequests: 4, batchMaxPoints: 1_000, batchMaxDelayMs: 60_000 });
    const sink = new InfluxSink(opts);
    await sink.start();
    const alert = { siteId: 'plant-1', alertId: 'a-1', state: 'open', score: 3, message: 'imbalance', windowEnd: T0 };
    const first = sink.writeAlert({ ...alert, machineId: 'pump-0' });
    await sink.flush();
    await first;
    // `message` is a string field of `alerts`; a number in it conflicts with the stored type: one machine's request is refused.
    const machines = Array.from({ length: 12 }, (_, i) => `pump-${i}`);
    const writes = machines.map((machineId, i) => sink.writeAlert({ ...alert, machineId, windowEnd: T0 + 1, message: i === 5 ? (7 as unknown as string) : 'imbalance' }));
    const settled = Promise.allSettled(writes); // now: the refused write rejects while the others are written again
    await sink.flush().catch(() => undefined);
    const results = await settled;
    expect(results.map((result) => result.status)).toEqual(machines.map((_, i) => (i === 5 ? 'rejected' : 'fulfilled')));
    expect((results[5] as PromiseRejectedResult).reason).toBeInstanceOf(InfluxWriteRefused);
    const stored = await rows(`SELECT message FROM alerts WHERE time = ${T0 + 1}ms GROUP BY machine`, opts.database);
    expect(stored).toHaveLength(machines.length - 1);
  });

  it('leaves out non-finite statistics instead of failing the batch, and counts them', async () => {
    const opts = options();
    let dropped = 0;
    const sink = new InfluxSink(opts, { fieldsDropped: (n) => (dropped += n) });
    await sink.start();
    const window = makeWindow();
    window.sensors[0]!.skewness = Number.NaN;
    window.sensors[0]!.kurtosis = Number.POSITIVE_INFINITY;
    await sink.writeScoredWindow(window, undefined);
    expect(dropped).toBe(2);
    expect(await rows('SELECT COUNT(mean) FROM sensor_features', opts.database)).toEqual([[0, 3]]);
  });

  it('writes a scored window as its features and its anomaly point in one batch, counting dropped fields of both', async () => {
    const opts = options();
    let dropped = 0;
    const batches: number[] = [];
    const sink = new InfluxSink(opts, { fieldsDropped: (n) => (dropped += n), batchWritten: (points) => batches.push(points) });
    await sink.start();
    const window = makeWindow();
    window.sensors[0]!.skewness = Number.NaN;
    const start = Number(window.windowStart);
    const score = {
      siteId: window.siteId, machineId: window.machineId, windowStart: start, windowEnd: start + 10_000, model: 'pump', modelVersion: '1',
      score: 2.5, threshold: 1, isAnomaly: true, contributions: { [window.sensors[0]!.sensorId]: Number.NaN, [window.sensors[1]!.sensorId]: 1 },
    };
    await sink.writeScoredWindow(window, score);
    expect(batches).toEqual([window.sensors.length + 1]);
    expect(dropped).toBe(2);
    expect(await rows('SELECT score, is_anomaly FROM anomaly', opts.database)).toEqual([[start, 2.5, true]]);
    expect(await rows('SELECT COUNT(mean) FROM sensor_features', opts.database)).toEqual([[0, window.sensors.length]]);
  });

  it('rejects every write of a batch to a database that does not exist with a TransientError (nack after a back-off, never dead-lettered)', async () => {
    const sink = new InfluxSink(options({ batchMaxDelayMs: 60_000 })); // start() not called: the database does not exist
    const settled = Promise.allSettled(['pump-1', 'pump-2'].map((machine) => sink.writeScoredWindow(makeWindow({ machine }), undefined)));
    await sink.flush();
    for (const result of await settled) {
      const reason = (result as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(TransientError);
      expect(reason.message).toMatch(/^InfluxDB write failed: 404 \{"error":"database not found: .*\} \(the database is gone/);
    }
  });

  it('rejects only the write whose point InfluxDB refused (not transient); the others of its batch are stored and resolve', async () => {
    const opts = options({ batchMaxPoints: 4, batchMaxDelayMs: 60_000 });
    const sink = new InfluxSink(opts);
    await sink.start();
    // `message` is a string field of `alerts`; a number in it conflicts with the stored type.
    const alert = { machineId: 'pump-1', siteId: 'plant-1', alertId: 'a-1', state: 'open', score: 3, message: 'imbalance', windowEnd: T0 };
    const first = sink.writeAlert(alert);
    await sink.flush();
    await first;
    const writes = [sink.writeAlert({ ...alert, windowEnd: T0 + 1 }), sink.writeAlert({ ...alert, windowEnd: T0 + 2, message: 7 as unknown as string }), sink.writeAlert({ ...alert, windowEnd: T0 + 3 }), sink.writeAlert({ ...alert, windowEnd: T0 + 4 })];
    const results = await Promise.allSettled(writes);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const reason = (results[1] as PromiseRejectedResult).reason as Error;
    expect(reason).toBeInstanceOf(InfluxWriteRefused);
    expect(reason).not.toBeInstanceOf(TransientError);
    expect(reason.message).toMatch(/partial write: field type conflict/);
    expect((await rows('SELECT message FROM alerts', opts.database)).map((r) => r[0])).toEqual([T0, T0 + 1, T0 + 3, T0 + 4]);
  });

  it('fails only the write whose point line protocol cannot carry; the batch it would have joined is stored', async () => {
    const opts = options({ batchMaxPoints: 2, batchMaxDelayMs: 60_000 });
    const sink = new InfluxSink(opts);
    await sink.start();
    const alert = { machineId: 'pump-1', siteId: 'plant-1', alertId: 'a-1', state: 'open', score: 3, message: 'imbalance', windowEnd: T0 };
    const bad = sink.writeAlert({ ...alert, windowEnd: T0 + 1, message: undefined as unknown as string });
    const good = [sink.writeAlert(alert), sink.writeAlert({ ...alert, windowEnd: T0 + 2 })];
    await expect(bad).rejects.toThrow(/field message/);
    await Promise.all(good);
    expect((await rows('SELECT message FROM alerts', opts.database)).map((r) => r[0])).toEqual([T0, T0 + 2]);
  });

  it('rejects writes with a TransientError when no influxd answers (nack after a back-off, never dead-lettered)', async () => {
    const sink = new InfluxSink(options({ url: `http://127.0.0.1:${await freePort()}` }));
    await expect(sink.writeScoredWindow(makeWindow(), undefined)).rejects.toThrow(TransientError);
  });
});

describe('InfluxSink against a stand-in InfluxDB (auth on, or a proxy in front)', () => {
  /** A sink whose requests the stand-in answers with `status`; one request per batch, sent at flush(). */
  const sinkOn = (url: string, status: number) => new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url, database: String(status), batchMaxDelayMs: 60_000, parallelRequests: 1 });

  it('a batch InfluxDB answers 401 is not written again add by add: every write of it rejects with a TransientError; a 400 batch is', async () => {
    const requests: string[] = [];
    const answer = answerByDatabase((status) => (status === 400 ? '{"error":"partial write: field type conflict"}' : '{"error":"authorization failed"}'));
    const server = await standInInflux((req, res) => {
      requests.push(new URL(req.url!, 'http://stand-in').searchParams.get('db')!);
      answer(req, res);
    });
    try {
      const outcomes = async (status: number) => {
        const sink = sinkOn(server.url, status);
        const settled = Promise.allSettled(['pump-1', 'pump-2', 'pump-3'].map((machine) => sink.writeScoredWindow(makeWindow({ machine }), undefined)));
        await sink.flush();
        return (await settled).map((result) => {
          const reason = (result as PromiseRejectedResult).reason as Error;
          return reason instanceof TransientError ? `transient: ${reason.message}` : reason instanceof InfluxWriteRefused ? 'refused' : reason;
        });
      };
      expect(await outcomes(401)).toEqual(Array(3).fill('transient: InfluxDB write failed: 401 {"error":"authorization failed"} (check the user and password in influx.url)'));
      expect(requests).toEqual(['401']); // one request, not one per message
      expect(await outcomes(400)).toEqual(['refused', 'refused', 'refused']);
      expect(requests).toEqual(['401', '400', '400', '400', '400']); // the batch, then each message alone
    } finally {
      await server.close();
    }
  });

  it('a query answered 400 is refused as it is; any other answer is a TransientError saying what to do', async () => {
    const bodies: Record<number, string> = { 400: '{"error":"error parsing query: found SELEC"}', 401: '{"error":"authorization failed"}', 403: '{"error":"not authorized to execute statement"}', 429: 'Too Many Requests' };
    const server = await standInInflux(answerByDatabase((status) => bodies[status]!));
    try {
      const outcome = async (status: number) => {
        const error = (await sinkOn(server.url, status).query('SELECT * FROM "alert_state"').catch((e: unknown) => e)) as Error;
        return { status, transient: error instanceof TransientError, message: error.message };
      };
      expect(await Promise.all([400, 401, 403, 429].map(outcome))).toEqual([
        { status: 400, transient: false, message: `A 400 Bad Request error occurred: ${bodies[400]}` },
        { status: 401, transient: true, message: `InfluxDB query failed: A 401 Unauthorized error occurred: ${bodies[401]} (check the user and password in influx.url)` },
        { status: 403, transient: true, message: `InfluxDB query failed: A 403 Forbidden error occurred: ${bodies[403]} (grant the user in influx.url READ and WRITE on influx.database)` },
        { status: 429, transient: true, message: `InfluxDB query failed: A 429 Too Many Requests error occurred: ${bodies[429]} (InfluxDB or a proxy in front of it limits the request rate)` },
      ]);
    } finally {
      await server.close();
    }
  });
});

describe('InfluxSink against an influxd with a small [http] max-body-size (413)', () => {
  /** Fits 30 sensor_features points (316–414 bytes each), not 60. */
  const MAX_BODY_BYTES = 16_000;
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux({ INFLUXDB_HTTP_MAX_BODY_SIZE: String(MAX_BODY_BYTES) });
  });
  afterAll(async () => {
    await influx.stop();
  });

  /** A started sink recording its requests, 413s and lowerings; one batch per flush(). */
  async function recordingSink(parallelRequests: number) {
    const seen = { requests: [] as number[], tooLarge: [] as number[], lowered: [] as { maxPoints: number; cause: string }[] };
    const opts = { ...INFLUX_SINK_DEFAULTS, url: influx.url, database: uniqueDatabaseName('sink_413'), batchMaxPoints: 1_000, batchMaxDelayMs: 60_000, parallelRequests };
    const sink = new InfluxSink(opts, {
      batchWritten: (points) => seen.requests.push(points),
      requestTooLarge: (points) => seen.tooLarge.push(points),
      requestMaxPointsLowered: (maxPoints, cause) => seen.lowered.push({ maxPoints, cause: cause.message }),
    });
    await sink.start();
    return { sink, seen, database: opts.database };
  }

  /** One window of each of 40 machines (120 points, about 45 kB as one request), written as one batch. */
  async function writeWindows(sink: InfluxSink, index: number) {
    const windows = Array.from({ length: 40 }, (_, i) => makeWindow({ machine: `pump-${i}`, index }));
    const writes = windows.map((window) => sink.writeScoredWindow(window, undefined));
    await sink.flush();
    await Promise.all(writes);
    return windows;
  }

  /** Each stored sensor_features point, by its tags and time, with its fields; a point stored twice fails. */
  async function storedFeatures(database: string): Promise<Map<string, Record<string, unknown>>> {
    const series = (await influx.query('SELECT * FROM sensor_features GROUP BY *', database)).results[0]?.series ?? [];
    const stored = new Map<string, Record<string, unknown>>();
    for (const { tags, columns, values } of series) {
      for (const row of values) {
        const { time, ...fields } = Object.fromEntries(columns.map((column, k) => [column, row[k]]));
        const key = `${JSON.stringify(tags)}@${String(time)}`;
        expect(stored.has(key)).toBe(false);
        stored.set(key, fields);
      }
    }
    return stored;
  }

  const expectedFeatures = (windows: ReturnType<typeof makeWindow>[]) =>
    new Map(windows.flatMap((window) => featurePoints(window).points.map((point) => [`${JSON.stringify(point.tags)}@${String(point.timestamp)}`, point.fields])));

  it('halves a request answered 413 until it fits, stores every point once with its values, and sends later batches at the size that went through', async () => {
    const { sink, seen, database } = await recordingSink(1);
    const first = await writeWindows(sink, 0);
    // 120 points: 413; 60: 413, twice; 30: stored, four times. Every point in exactly one stored request.
    expect(seen.tooLarge).toEqual([120, 60, 60]);
    expect(seen.requests).toEqual([30, 30, 30, 30]);
    expect(seen.lowered).toEqual([
      { maxPoints: 30, cause: expect.stringMatching(/^InfluxDB write failed: 413 .*\(a request is over InfluxDB's \[http\] max-body-size or a proxy's body limit: raise it, or lower influx\.batchMaxPoints\)$/) as string },
    ]);
    expect(await storedFeatures(database)).toEqual(expectedFeatures(first));

    // The next batch goes out at 30 points a request at once: no 413, no halving.
    const second = await writeWindows(sink, 1);
    expect(seen.tooLarge).toHaveLength(3);
    expect(seen.requests).toEqual([30, 30, 30, 30, 30, 30, 30, 30]);
    expect(seen.lowered).toHaveLength(1);
    expect(await storedFeatures(database)).toEqual(expectedFeatures([...first, ...second]));
  });

  it('with requests written at once (parallelRequests 2), halves each group, says so once, and keeps later batches at the size that went through', async () => {
    const { sink, seen, database } = await recordingSink(2);
    const first = await writeWindows(sink, 0);
    // The 40 machines hash into two groups of 60 points, each answered 413 and written as two of 30;
    // both groups learn 30, the second says nothing new.
    expect(seen.tooLarge).toEqual([60, 60]);
    expect(seen.requests).toEqual([30, 30, 30, 30]);
    expect(seen.lowered.map((lowered) => lowered.maxPoints)).toEqual([30]);
    expect(await storedFeatures(database)).toEqual(expectedFeatures(first));

    const second = await writeWindows(sink, 1);
    expect(seen.tooLarge).toHaveLength(2);
    expect(seen.requests).toEqual([30, 30, 30, 30, 30, 30, 30, 30]);
    expect(await storedFeatures(database)).toEqual(expectedFeatures([...first, ...second]));
  });

  it('refuses a point alone over the limit like a 400 (its write fails, not transiently); the rest of its batch is stored and the request size kept', async () => {
    const { sink, seen, database } = await recordingSink(1);
    const alert = { machineId: 'pump-1', siteId: 'plant-1', alertId: 'a-1', state: 'open', score: 3, message: 'imbalance', windowEnd: T0 };
    const huge = 'x'.repeat(MAX_BODY_BYTES);
    const writes = Array.from({ length: 11 }, (_, i) => sink.writeAlert({ ...alert, windowEnd: T0 + i, message: i === 4 ? huge : `imbalance ${i}` }));
    const settled = Promise.allSettled(writes);
    await sink.flush().catch(() => undefined);
    const results = await settled;
    expect(results.map((result) => result.status)).toEqual(writes.map((_, i) => (i === 4 ? 'rejected' : 'fulfilled')));
    const reason = (results[4] as PromiseRejectedResult).reason as Error;
    expect(reason).toBeInstanceOf(InfluxWriteRefused);
    expect(reason).not.toBeInstanceOf(TransientError);
    expect(reason.message).toMatch(/^InfluxDB refused the write \(413\): .* \(a point of 16\d{3} bytes, alone over InfluxDB's \[http\] max-body-size or a proxy's body limit: raise it to store such points\)$/);
    const stored = await rowsOf(influx, 'SELECT message FROM alerts', database);
    expect(stored).toEqual(writes.flatMap((_, i) => (i === 4 ? [] : [[T0 + i, `imbalance ${i}`]])));
    // A 413 that only one point caused says nothing of the limit: the next batch is one request.
    expect(seen.lowered).toEqual([]);
    const more = Array.from({ length: 10 }, (_, i) => sink.writeAlert({ ...alert, windowEnd: T0 + 100 + i }));
    await sink.flush();
    await Promise.all(more);
    expect(seen.requests.at(-1)).toBe(10);
  });
});
