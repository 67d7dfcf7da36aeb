// Rebuilds MachineWindows from the `sensor_features` measurement the processor writes, for
// `pdm train --from-influx`: one window per timestamp, one SensorStats per sensor series, of one
// machine at one site.
//
// The rows come as InfluxDB 1.x's chunked answer, one JSON object of at most CHUNK_ROWS rows per line,
// read as they arrive: weeks of 10 s windows are millions of rows, which one JSON body would hold in
// memory at once (twice: text and parsed), and which InfluxDB's [http] max-row-limit cuts short in a
// non-chunked answer, saying so only by a `partial` flag (on the series cut, or on the result when
// whole series were dropped). The limit does not apply to chunked answers; every chunk but the last of
// a statement says `partial: true`, so an answer that ends on one was cut (a proxy, a dropped
// connection) and is refused rather than trained on.
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { influxString } from '@pdm/cloud-processor/alert-workflow';
import { basicAuthorization, credentialsOf, hidePassword } from '@pdm/config';
import { CloseReason, MachineWindowSchema, SENSOR_STAT_FIELDS, create, type MachineWindow } from '@pdm/proto';
import { UsageError } from './command.js';

/** The InfluxDB to read: --influx-url, which carries user and password when InfluxDB asks for them, and --database. */
export interface InfluxSource {
  url: string;
  database: string;
}

export interface InfluxWindowQuery {
  machine: string;
  /** --site; without it, the machine's one site in the range. */
  site: string | undefined;
  /** ISO-8601 instants in UTC: windows starting at or after `from`, before `until`. */
  from: string;
  until: string;
}

interface Series {
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
  partial?: boolean;
}

interface Chunk {
  results?: Array<{ series?: Series[]; error?: string; partial?: boolean }>;
  error?: string;
}

/** Rows per chunk of InfluxDB's answer: what of it is held at once (InfluxDB's own default size). */
const CHUNK_ROWS = 10_000;

const text = (value: unknown) => (typeof value === 'string' ? value : '');

export async function windowsFromInflux(influx: InfluxSource, query: InfluxWindowQuery): Promise<MachineWindow[]> {
  const range = `time >= ${influxString(query.from)} AND time < ${influxString(query.until)}`;
  const site = await siteOf(influx, query, range);
  const where = `machine = ${influxString(query.machine)}${site === undefined ? '' : ` AND site = ${influxString(site)}`} AND ${range}`;
  const byTime = new Map<number, MachineWindow>();
  for await (const series of seriesOf(influx, `SELECT * FROM sensor_features WHERE ${where} GROUP BY sensor`)) {
    const column = (name: string) => series.columns.indexOf(name);
    for (const row of series.values) {
      const time = Number(row[column('time')]);
      const windowMs = Number(row[column('window_ms')]);
      let window = byTime.get(time);
      if (!window) {
        window = create(MachineWindowSchema, {
          machineId: query.machine,
          siteId: text(row[column('site')]),
          gatewayId: text(row[column('gateway')]),
          windowStart: BigInt(time),
          windowEnd: BigInt(time + windowMs),
          featureVersion: Number(row[column('feature_version')] ?? 0),
          revision: Number(row[column('revision')] ?? 0),
          closeReason: CloseReason.WATERMARK,
        });
        byTime.set(time, window);
      }
      const stats: Record<string, number | string> = { sensorId: series.tags?.sensor ?? '' };
      for (const [field, key] of Object.entries(SENSOR_STAT_FIELDS)) {
        const value = row[column(field)];
        if (typeof value === 'number') stats[key] = value;
      }
      window.sensors.push(stats as unknown as MachineWindow['sensors'][number]);
    }
  }
  return [...byTime.values()].sort((a, b) => Number(a.windowStart - b.windowStart));
}

/**
 * The site whose windows to read: --site, or the machine's one site in the range. A machine id at
 * two sites is two machines (the processor keys them by site and id): their windows of the same
 * instant would merge into one window with every sensor twice, so more than one is refused, naming them.
 * Undefined when the range holds no window of the machine at all.
 */
async function siteOf(influx: InfluxSource, query: InfluxWindowQuery, range: string): Promise<string | undefined> {
  const sites: string[] = [];
  for await (const series of seriesOf(influx, `SELECT count(window_ms) FROM sensor_features WHERE machine = ${influxString(query.machine)} AND ${range} GROUP BY site`)) {
    if (series.tags?.site !== undefined) sites.push(series.tags.site);
  }
  sites.sort();
  const between = `between ${query.from} and ${query.until}`;
  if (query.site !== undefined) {
    if (sites.length > 0 && !sites.includes(query.site)) {
      throw new UsageError(`--site ${query.site}: InfluxDB holds no window of machine "${query.machine}" at that site ${between}; it has some at ${sites.join(', ')}`);
    }
    return query.site;
  }
  if (sites.length > 1) {
    throw new UsageError(`machine "${query.machine}" has windows at ${sites.length} sites ${between} (${sites.join(', ')}): give --site ID to train on one of them`);
  }
  return sites[0];
}

/**
 * The series of one InfluxQL statement's chunked answer, chunk by chunk. Refuses an answer that ends
 * on a partial chunk; a refused login or privilege is a UsageError saying what to put in --influx-url.
 */
async function* seriesOf(influx: InfluxSource, statement: string): AsyncGenerator<Series> {
  const url = new URL(influx.url);
  const { user } = credentials(url);
  const headers: Record<string, string> = {};
  // fetch refuses a URL with credentials in it: they go in the header, as the processor sends them.
  const authorization = basicAuthorization(url);
  if (authorization !== undefined) headers.authorization = authorization;
  url.username = '';
  url.password = '';
  const where = hidePassword(influx.url);
  const body = new URLSearchParams({ q: statement, db: influx.database, epoch: 'ms', chunked: 'true', chunk_size: String(CHUNK_ROWS) });
  let response: Response;
  try {
    response = await fetch(`${url.origin}${url.pathname.replace(/\/$/, '')}/query`, { method: 'POST', headers, body });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach InfluxDB at ${where}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  if (!response.ok) {
    const said = errorIn(await response.text()) ?? `${response.status} ${response.statusText}`;
    if (response.status === 401) {
      throw new UsageError(
        user === ''
          ? `InfluxDB at ${where} asks for a user and password (${said}): give them in --influx-url, as ${url.protocol}//USER:PASSWORD@${url.host}`
          : `InfluxDB at ${where} refused user "${user}" (${said}): check the user and password in --influx-url`,
      );
    }
    if (response.status === 403) {
      const who = user === '' ? 'anyone without a login' : `user "${user}"`;
      throw new UsageError(`InfluxDB at ${where} does not let ${who} read database "${influx.database}" (${said}): grant READ on it, or give another user in --influx-url`);
    }
    throw new Error(`InfluxDB at ${where} refused the query: ${said}`);
  }
  let complete = false;
  // Lines as they arrive: one chunk of the answer at a time is held, never the whole.
  const input = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      const chunk = JSON.parse(line) as Chunk;
      const result = chunk.results?.[0];
      const error = chunk.error ?? result?.error;
      if (error) throw new Error(`InfluxDB at ${where} refused the query: ${error}`);
      const series = result?.series ?? [];
      // A series cut short says so too, where an answer that ignored `chunked` hit max-row-limit.
      complete = result?.partial !== true && series.at(-1)?.partial !== true;
      yield* series;
    }
  } finally {
    // Stopped early (an error, a caller that stops reading): the rest of the answer is not waited for.
    input.destroy();
  }
  if (!complete) throw new Error(`InfluxDB at ${where} ended its answer before its last rows (its last chunk says partial): nothing is trained on part of the range; try again`);
}

/** The user and password of --influx-url, percent-decoded (p%40ss is p@ss). */
function credentials(url: URL): { user: string; password: string } {
  try {
    return credentialsOf(url);
  } catch {
    throw new UsageError('--influx-url: a % in its user or password starts no %XX escape; write % as %25 (and @ as %40, : as %3A, / as %2F)');
  }
}

/** InfluxDB's `{"error": …}` in an answer's body, if it is one. */
function errorIn(body: string): string | undefined {
  try {
    return (JSON.parse(body) as Chunk).error;
  } catch {
    return undefined;
  }
}
