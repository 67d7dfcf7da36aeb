// Creates, idempotently, what the processor writes into: the database, the raw (default) and
// downsampled retention policies, and continuous queries that keep 1-minute and 1-hour means of
// sensor_features, anomaly and anomaly_shadow in `<measurement>_<interval>` of the downsampled policy.
// Safe to run on every start and from many instances at once: CREATE DATABASE is a no-op when it
// exists, existing policies are altered to the configured durations, existing CQs are left alone.
import type { InfluxDB } from 'influx';
import { DOWNSAMPLED_MEASUREMENTS } from './influx-series.js';
import type { InfluxSinkOptions } from './options.js';

const quote = (name: string) => `"${name.replace(/"/g, '\\"')}"`;

export function continuousQueryName(measurement: string, interval: string): string {
  return `cq_${measurement}_${interval}`;
}

export function continuousQueries(options: Pick<InfluxSinkOptions, 'database' | 'rawRetention' | 'downsampledRetention' | 'downsampleIntervals'>) {
  const db = quote(options.database);
  return DOWNSAMPLED_MEASUREMENTS.flatMap((measurement) =>
    options.downsampleIntervals.map((interval) => ({
      name: continuousQueryName(measurement, interval),
      // mean(*) averages every numeric field (mean_score, mean_rms…); GROUP BY * keeps the tags.
      query:
        `SELECT mean(*) INTO ${db}.${quote(options.downsampledRetention.name)}.${quote(`${measurement}_${interval}`)} ` +
        `FROM ${db}.${quote(options.rawRetention.name)}.${quote(measurement)} GROUP BY time(${interval}), *`,
    })),
  );
}

interface RawSeries {
  name?: string;
  columns?: string[];
  values?: unknown[][];
}

async function existingContinuousQueries(influx: InfluxDB, database: string): Promise<Set<string>> {
  const raw = (await influx.queryRaw('SHOW CONTINUOUS QUERIES')) as { results?: { series?: RawSeries[] }[] };
  const series = raw.results?.[0]?.series?.find((s) => s.name === database);
  const nameColumn = series?.columns?.indexOf('name') ?? -1;
  return new Set((series?.values ?? []).map((row) => String(row[nameColumn])));
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
    if (!existing.has(cq.name)) await influx.createContinuousQuery(cq.name, cq.query, database);
  }
}
