// Creates, idempotently, what the processor writes into: the database, the raw (default) and
// downsampled retention policies, and continuous queries that keep 1-minute and 1-hour means of
// sensor_features, anomaly and anomaly_shadow in `<measurement>_<interval>` of the downsampled policy.
// Safe to run on every start and from many instances at once: CREATE DATABASE is a no-op when it
// exists, existing policies are altered to the configured durations, existing CQs are left alone
// unless their definition is not the one this processor would create (an older processor's: then
// they are replaced).
import { parseDuration } from '@pdm/config';
import { SENSOR_STAT_ENTRIES } from '@pdm/proto';
import type { InfluxDB } from 'influx';
import { DOWNSAMPLED_MEASUREMENTS, type Measurement } from './influx-series.js';
import type { InfluxSinkOptions } from './options.js';

const quote = (name: string) => `"${name.replace(/"/g, '\\"')}"`;

export function continuousQueryName(measurement: string, interval: string): string {
  return `cq_${measurement}_${interval}`;
}

/**
 * A CQ runs when its interval ends, over that interval alone by default; but the last window of an
 * interval is stored only after the interval ends (a 10 s window starting at 12:00:50 closes at
 * 12:01:00 plus the allowed lateness), so the 12:00 minute's means were taken without its last window
 * (seen: 5 of 6). Resampling twice the interval computes each interval again one interval later, with
 * all its windows. Measured by hand at 1,000 machines: sensor_features' 1-minute query over 2 minutes
 * costs 0.9–1.25 × the one over 1 minute (its cost is per series and field more than per point); the
 * 1-hour one over 2 hours 26 s of influxd's CPU against ~10 s over 1 — hours that hold all their windows.
 */
function resampleFor(interval: string): string {
  return `RESAMPLE FOR ${influxDuration(2 * parseDuration(interval))}`;
}

const DURATION_UNITS: readonly (readonly [unit: string, ms: number])[] = [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]];

/**
 * A duration as influxd writes it back in SHOW CONTINUOUS QUERIES: in the largest unit that divides
 * it (120s → 2m, 24h → 1d, 90s stays). Written so, a definition read back compares equal to ours.
 */
function influxDuration(ms: number): string {
  const [unit, size] = DURATION_UNITS.find(([, size]) => ms % size === 0) ?? ['ms', 1];
  return `${ms / size}${unit}`;
}

/**
 * What a downsampled point holds: every numeric field's mean (mean(*): the anomaly measurements'
 * fields include one per sensor, contrib_<sensor>); for sensor_features the statistics' means alone,
 * named as mean(*) names them: the means of its bookkeeping fields (revision, feature_version,
 * window_ms) say nothing, and a CQ's cost is per series and field (3 of 16: measured ~19 % of
 * influxd's time for the 1-minute and 1-hour queries at 1,000 machines).
 */
function selection(measurement: string): string {
  if (measurement !== ('sensor_features' satisfies Measurement)) return 'mean(*)';
  return SENSOR_STAT_ENTRIES.map(([field]) => `mean(${quote(field)}) AS ${quote(`mean_${field}`)}`).join(', ');
}

type DownsampleOptions = Pick<InfluxSinkOptions, 'database' | 'rawRetention' | 'downsampledRetention' | 'downsampleIntervals'>;

/**
 * A continuous query's own query; with a time range (epoch ms, [from, to)), the same means computed
 * by hand for it (downsample-backfill.ts).
 */
export function downsampleQuery(options: DownsampleOptions, measurement: string, interval: string, range?: { fromMs: number; toMs: number }): string {
  const db = quote(options.database);
  const where = range === undefined ? '' : ` WHERE time >= ${range.fromMs}ms AND time < ${range.toMs}ms`;
  // GROUP BY * keeps the tags.
  return (
    `SELECT ${selection(measurement)} INTO ${db}.${quote(options.downsampledRetention.name)}.${quote(`${measurement}_${interval}`)} ` +
    `FROM ${db}.${quote(options.rawRetention.name)}.${quote(measurement)}${where} GROUP BY time(${influxDuration(parseDuration(interval))}), *`
  );
}

export function continuousQueries(options: DownsampleOptions) {
  return DOWNSAMPLED_MEASUREMENTS.flatMap((measurement) =>
    options.downsampleIntervals.map((interval) => ({
      name: continuousQueryName(measurement, interval),
      query: downsampleQuery(options, measurement, interval),
      resample: resampleFor(interval),
    })),
  );
}

/** influxd writes identifiers back without the quotes they do not need: compare without any. */
const unquoted = (text: string) => text.replaceAll('"', '');

interface RawSeries {
  name?: string;
  columns?: string[];
  values?: unknown[][];
}

/** Name → definition (`CREATE CONTINUOUS QUERY … END`) of the database's CQs. */
async function existingContinuousQueries(influx: InfluxDB, database: string): Promise<Map<string, string>> {
  const raw = (await influx.queryRaw('SHOW CONTINUOUS QUERIES')) as { results?: { series?: RawSeries[] }[] };
  const series = raw.results?.[0]?.series?.find((s) => s.name === database);
  const nameColumn = series?.columns?.indexOf('name') ?? -1;
  const queryColumn = series?.columns?.indexOf('query') ?? -1;
  return new Map((series?.values ?? []).map((row) => [String(row[nameColumn]), String(row[queryColumn])]));
}

export async function ensureInfluxSchema(influx: InfluxDB, options: InfluxSinkOptions): Promise<void> {
  const { database } = options;
  await influx.createDatabase(database);
  const policies = new Set((await influx.showRetentionPolicies(database)).map((p) => p.name));
  for (const [policy, isDefault] of [
    [options.rawRetention, true],
    [options.downsampledRetention, false],
  ] as const) {
    const settings = { database, duration: policy.duration, replication: 1, isDefault };
    if (policies.has(policy.name)) await influx.alterRetentionPolicy(policy.name, settings);
    else await influx.createRetentionPolicy(policy.name, settings);
  }
  const existing = await existingContinuousQueries(influx, database);
  for (const cq of continuousQueries(options)) {
    const definition = existing.get(cq.name);
    if (definition !== undefined && unquoted(definition).includes(unquoted(`${cq.resample} BEGIN ${cq.query} END`))) continue;
    // An older processor's CQ (without the resample clause, or averaging every field). Another instance
    // starting at the same time may have replaced it already: its drop then fails, and the create below
    // is a no-op.
    if (definition !== undefined) await influx.dropContinuousQuery(cq.name, database).catch(() => undefined);
    await influx.createContinuousQuery(cq.name, cq.query, database, cq.resample);
  }
}
