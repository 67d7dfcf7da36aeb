import { gunzipSync } from 'node:zlib';
import { freePort, startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { InfluxDB, type IPoint } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../shared/transient-error.js';
import { InfluxRequestTooLarge, InfluxWrite, InfluxWriteRefused } from './influx-write.js';
import { toLineProtocol } from './line-protocol.js';
import { answerByDatabase, standInInflux } from './test-support/stand-in-influx.js';

const T = 1_733_000_000_123;

/** Values that need escaping somewhere, and that the `influx` client also wrote correctly. */
const HOSTILE = ['a b', 'a,b', 'a=b', 'say "hi"', "it's", 'back\\slash', 'ü€🙂 ünïcödé', ' lead and trail '];

function hostilePoints(): IPoint[] {
  return HOSTILE.map((value, i) => ({
    measurement: 'hostile',
    tags: { plain: `p${i}`, 'tag key, with=all': value },
    fields: {
      text: value,
      'field key, with=all': value,
      multiline: `line one\nline "two"\r\n\ttabbed \\ end\\`,
      as_int: i,
      as_float: i + 0.5,
      epoch_ms: T + i,
      flag: i % 2 === 0,
    },
    timestamp: T + i * 1_000,
  }));
}

describe('InfluxWrite against a real influxd', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx.stop();
  });

  async function freshDatabase(prefix: string): Promise<string> {
    const database = uniqueDatabaseName(prefix);
    await influx.createDatabase(database);
    return database;
  }

  async function stored(database: string, statement = 'SELECT * FROM /.*/ GROUP BY *') {
    return (await influx.query(statement, database)).results[0]?.series ?? [];
  }

  it('stores hostile tags, field keys and string fields exactly as the influx client stored them, with the same field types', async () => {
    const points = hostilePoints();
    const before = await freshDatabase('lp_client');
    await new InfluxDB({ host: influx.host, port: influx.port, database: before }).writePoints(points, { precision: 'ms' });
    const after = await freshDatabase('lp_ours');
    await new InfluxWrite({ url: influx.url, database: after, requestTimeoutMs: 5_000 }).write(toLineProtocol(points));

    const series = await stored(after);
    expect(series).toEqual(await stored(before));
    expect(await stored(after, 'SHOW FIELD KEYS')).toEqual(await stored(before, 'SHOW FIELD KEYS'));
    // And both are the values we wrote (not two equal corruptions).
    expect(series).toHaveLength(HOSTILE.length);
    const byValue = new Map(series.map((s) => [s.tags?.['tag key, with=all'], s]));
    HOSTILE.forEach((value, i) => {
      const s = byValue.get(value)!;
      const row = Object.fromEntries(s.columns.map((c, k) => [c, s.values[0]![k]]));
      expect(row).toEqual({ time: T + i * 1_000, text: value, 'field key, with=all': value, multiline: `line one\nline "two"\r\n\ttabbed \\ end\\`, as_int: i, as_float: i + 0.5, epoch_ms: T + i, flag: i % 2 === 0 });
    });
    // Numbers stay floats, as the client wrote them: an integer write would conflict with existing data.
    const types = Object.fromEntries((await stored(after, 'SHOW FIELD KEYS'))[0]!.values.map((row) => [String(row[0]), row[1]]));
    expect(types).toMatchObject({ as_int: 'float', as_float: 'float', epoch_ms: 'float', flag: 'boolean', text: 'string' });
  });

  it("stores what the client could not: a backslash before a quote, and a measurement with a comma and a space", async () => {
    const database = await freshDatabase('lp_only_ours');
    await new InfluxWrite({ url: influx.url, database, requestTimeoutMs: 5_000 }).write(
      toLineProtocol([{ measurement: 'odd name,x', tags: { t: "it\\'s" }, fields: { s: "it\\'s" }, timestamp: T }]),
    );
    const [series] = await stored(database);
    expect(series?.name).toBe('odd name,x');
    expect(series?.tags).toEqual({ t: "it\\'s" });
    expect(series?.values).toEqual([[T, "it\\'s"]]);
  });

  it('writes into an existing float field with integer-valued numbers (no type conflict)', async () => {
    const database = await freshDatabase('lp_types');
    await new InfluxDB({ host: influx.host, port: influx.port, database }).writePoints([{ measurement: 'm', fields: { revision: 0.5 }, timestamp: T }], { precision: 'ms' });
    await new InfluxWrite({ url: influx.url, database, requestTimeoutMs: 5_000 }).write(toLineProtocol([{ measurement: 'm', fields: { revision: 2 }, timestamp: T + 1 }]));
    expect((await stored(database))[0]?.values).toEqual([[T, 0.5], [T + 1, 2]]);
  });

  it('stores timestamps in ms precision: the stored instant is the ms given, to the millisecond', async () => {
    const database = await freshDatabase('lp_time');
    await new InfluxWrite({ url: influx.url, database, requestTimeoutMs: 5_000 }).write(toLineProtocol([{ measurement: 'm', fields: { v: 1 }, timestamp: T }]));
    const response = await fetch(`${influx.url}/query?${new URLSearchParams({ db: database, q: 'SELECT v FROM m' }).toString()}`);
    const body = (await response.json()) as { results: { series: { values: [string, number][] }[] }[] };
    expect(body.results[0]!.series[0]!.values).toEqual([['2024-11-30T20:53:20.123Z', 1]]);
    expect(new Date(T).toISOString()).toBe('2024-11-30T20:53:20.123Z');
  });

  it('writes gzip-compressed bodies that InfluxDB stores like plain ones', async () => {
    const points = hostilePoints();
    const plain = await freshDatabase('lp_plain');
    const zipped = await freshDatabase('lp_gzip');
    await new InfluxWrite({ url: influx.url, database: plain, requestTimeoutMs: 5_000 }).write(toLineProtocol(points));
    await new InfluxWrite({ url: influx.url, database: zipped, requestTimeoutMs: 5_000, gzip: true }).write(toLineProtocol(points));
    expect(await stored(zipped)).toEqual(await stored(plain));
  });

  it('a partial write is refused with InfluxDB\'s message (400, not transient), and the good points are stored', async () => {
    const database = await freshDatabase('lp_partial');
    const writer = new InfluxWrite({ url: influx.url, database, requestTimeoutMs: 5_000 });
    await writer.write(toLineProtocol([{ measurement: 'm', fields: { v: 1 }, timestamp: T }]));
    const failed = writer.write(toLineProtocol([{ measurement: 'm', fields: { v: 'text' }, timestamp: T + 1 }, { measurement: 'm', fields: { v: 3 }, timestamp: T + 2 }]));
    await expect(failed).rejects.toThrow(InfluxWriteRefused);
    await expect(failed).rejects.toThrow(/400.*partial write: field type conflict/);
    await expect(failed).rejects.not.toBeInstanceOf(TransientError);
    expect((await stored(database))[0]?.values).toEqual([[T, 1], [T + 2, 3]]);
  });

  it('a dropped database (influxd answers 404) is a TransientError saying so, not a refusal of the points', async () => {
    const database = await freshDatabase('lp_dropped');
    const writer = new InfluxWrite({ url: influx.url, database, requestTimeoutMs: 5_000 });
    await writer.write('m v=1 1');
    await influx.dropDatabase(database);
    const failed = writer.write('m v=2 2');
    await expect(failed).rejects.toBeInstanceOf(TransientError);
    await expect(failed).rejects.toThrow(/^InfluxDB write failed: 404 \{"error":"database not found: .*"\} \(the database is gone, or influx\.url does not lead to InfluxDB: restarting a processor creates/);
  });

  it('a dead influxd is a TransientError: nothing listening, and a kept-alive connection to an influxd that died', async () => {
    const nobody = new InfluxWrite({ url: `http://127.0.0.1:${await freePort()}`, database: 'db', requestTimeoutMs: 5_000 });
    await expect(nobody.write('m v=1 1')).rejects.toThrow(TransientError);
    await expect(nobody.write('m v=1 1')).rejects.toThrow(/ECONNREFUSED/);

    const doomed = await startTestInflux();
    await doomed.createDatabase('db');
    const writer = new InfluxWrite({ url: doomed.url, database: 'db', requestTimeoutMs: 5_000 });
    await writer.write('m v=1 1'); // leaves a kept-alive connection
    await doomed.stop();
    await expect(writer.write('m v=2 2')).rejects.toThrow(TransientError);
  });
});

describe('InfluxWrite against a stand-in server', () => {
  it('only a 400 refuses the points; any other answer (auth, a dropped database, a proxy) is a TransientError saying what to do, a 413 one the sink can split', async () => {
    // What InfluxDB 1.x (with auth on) or a proxy in front of it answers.
    const bodies: Record<number, string> = {
      400: '{"error":"unable to parse \'m v=\': missing field value"}',
      401: '{"error":"authorization failed"}',
      403: '{"error":"\\"reader\\" user is not authorized to write to database \\"pdm\\""}',
      404: '{"error":"database not found: \\"pdm\\""}',
      413: '<html><head><title>413 Request Entity Too Large</title></head></html>',
      429: 'Too Many Requests',
      503: '{"error":"engine busy"}',
    };
    const server = await standInInflux(answerByDatabase((status) => bodies[status]!));
    try {
      const outcome = async (status: number) => {
        const error = (await new InfluxWrite({ url: server.url, database: String(status), requestTimeoutMs: 5_000 }).write('m v=1 1').catch((e: unknown) => e)) as Error;
        const type = error instanceof InfluxWriteRefused ? 'refused' : error instanceof InfluxRequestTooLarge && error instanceof TransientError ? 'transient, too large' : error instanceof TransientError ? 'transient' : error;
        return { status, type, message: error.message };
      };
      expect(await Promise.all(Object.keys(bodies).map((status) => outcome(Number(status))))).toEqual([
        { status: 400, type: 'refused', message: `InfluxDB refused the write (400): ${bodies[400]}` },
        { status: 401, type: 'transient', message: `InfluxDB write failed: 401 ${bodies[401]} (check the user and password in influx.url)` },
        { status: 403, type: 'transient', message: `InfluxDB write failed: 403 ${bodies[403]} (grant the user in influx.url READ and WRITE on influx.database)` },
        {
          status: 404,
          type: 'transient',
          message: `InfluxDB write failed: 404 ${bodies[404]} (the database is gone, or influx.url does not lead to InfluxDB: restarting a processor creates the database again, with its retention policies and continuous queries)`,
        },
        {
          status: 413,
          type: 'transient, too large',
          message: `InfluxDB write failed: 413 ${bodies[413]} (a request is over InfluxDB's [http] max-body-size or a proxy's body limit: raise it, or lower influx.batchMaxPoints)`,
        },
        { status: 429, type: 'transient', message: `InfluxDB write failed: 429 ${bodies[429]} (InfluxDB or a proxy in front of it limits the request rate)` },
        { status: 503, type: 'transient', message: `InfluxDB write failed: 503 ${bodies[503]}` },
      ]);
    } finally {
      await server.close();
    }
  });

  it('an answer that never comes is a TransientError after requestTimeoutMs', async () => {
    const server = await standInInflux(() => undefined);
    try {
      const failed = new InfluxWrite({ url: server.url, database: 'db', requestTimeoutMs: 100 }).write('m v=1 1');
      await expect(failed).rejects.toThrow(TransientError);
      await expect(failed).rejects.toThrow(/no answer within 100 ms/);
    } finally {
      await server.close();
    }
  });

  it('sends credentials from the URL as basic auth, db and ms precision in the query, and gzip when asked', async () => {
    const seen: { url?: string; authorization?: string; encoding?: string; body?: string }[] = [];
    const server = await standInInflux((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        seen.push({ url: req.url, authorization: req.headers.authorization, encoding: req.headers['content-encoding'], body: (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString() });
        res.writeHead(204).end();
      });
    });
    try {
      const url = server.url.replace('//', '//writer:p%40ss@');
      await new InfluxWrite({ url, database: 'my db', requestTimeoutMs: 5_000, gzip: true }).write('m v=1 1');
      expect(seen).toEqual([{ url: '/write?db=my+db&precision=ms', authorization: `Basic ${Buffer.from('writer:p@ss').toString('base64')}`, encoding: 'gzip', body: 'm v=1 1' }]);
    } finally {
      await server.close();
    }
  });
});
