// The proof that the dashboards show real data: the processor's own InfluxSink writes a short run of
// realistic pipeline output into a real influxd; then every InfluxQL query of every generated dashboard
// (panels, annotations, template variables) is interpolated as Grafana would and run against it.
// A query that errors or returns no non-null value fails, naming its dashboard and panel.
import { DEFAULT_DATABASE as DATABASE, INFLUX_SINK_DEFAULTS, InfluxSink, SERIES } from '@pdm/cloud-processor';
import { startTestInflux, type RunningInflux } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_DEFAULTS } from './build.js';
import { FLEET_OVERVIEW } from './dashboards/fleet-overview.js';
import { DASHBOARDS } from './dashboards/index.js';
import { INFLUX_DATASOURCE_UID } from './datasource.js';
import { influxVariables, panelQueries, type DashboardJson } from './test-support/dashboard-queries.js';
import { grafanaInterval, interpolate, type TemplateContext } from './test-support/grafana-interpolation.js';
import { WINDOW_MS, WINDOWS, writePipelineRun } from './test-support/pipeline-run.js';

describe('every dashboard query returns data from a real influxd filled by the processor sink', () => {
  let influx: RunningInflux;
  let span: { from: number; to: number };

  beforeAll(async () => {
    influx = await startTestInflux();
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: DATABASE, batchMaxDelayMs: 5 });
    await sink.start();
    // Recent enough to sit inside the raw retention policy (points older than it are refused).
    const t0 = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS - 60 * 60_000;
    span = await writePipelineRun(sink, t0);
  });
  afterAll(async () => {
    await influx?.stop();
  });

  async function run(statement: string, where: string) {
    const response = await influx.query(statement, DATABASE);
    const result = response.results[0];
    if (result?.error) throw new Error(`${where}: InfluxDB refused the query: ${result.error}\n  ${statement}`);
    return result?.series ?? [];
  }

  /** Resolves the dashboard's variables like Grafana: in order, multi/All → every value, else the first. */
  async function templateContext(dashboard: DashboardJson): Promise<TemplateContext> {
    const minIntervalMs = Number(/^(\d+)s$/.exec(BUILD_DEFAULTS.minInterval)?.[1]) * 1000;
    const ctx: TemplateContext = { from: span.from, to: span.to, intervalMs: grafanaInterval(span.from, span.to, minIntervalMs), variables: new Map() };
    for (const variable of influxVariables(dashboard)) {
      const where = `${dashboard.uid} › variable $${variable.name}`;
      const series = await run(interpolate(variable.query, ctx), where);
      const values = series.flatMap((s) => s.values.map((row) => String(row[s.columns.indexOf('value')]))).sort();
      expect(values.length, `${where} has no values`).toBeGreaterThan(0);
      ctx.variables.set(variable.name, { values: variable.multi ? values : values.slice(0, 1), multi: variable.multi });
    }
    return ctx;
  }

  for (const spec of DASHBOARDS) {
    it(`${spec.uid}: every InfluxQL query returns at least one non-null value`, async () => {
      const dashboard = JSON.parse(JSON.stringify(spec.build())) as DashboardJson;
      const ctx = await templateContext(dashboard);
      const queries = panelQueries(dashboard);
      expect(queries.length).toBeGreaterThan(0);
      for (const q of queries) expect(q.datasourceUid, q.where).toBe(INFLUX_DATASOURCE_UID);
      const empty: string[] = [];
      for (const query of queries) {
        const statement = interpolate(query.text, ctx);
        const series = await run(statement, query.where);
        const hasValue = series.some((s) => s.values.some((row) => row.some((cell, i) => s.columns[i] !== 'time' && cell !== null)));
        if (!hasValue) empty.push(`${query.where}\n  ${statement}`);
      }
      expect(empty, `queries that returned no value:\n${empty.join('\n')}`).toEqual([]);
    });
  }

  it('pdm-fleet-overview lists the machines not scored in the range, by reason, with their windows', async () => {
    const dashboard = JSON.parse(JSON.stringify(FLEET_OVERVIEW.build())) as DashboardJson;
    const ctx = await templateContext(dashboard);
    const query = panelQueries(dashboard).find((q) => q.where.includes('panel "Machines not scored"'));
    expect(query).toBeDefined();
    const series = await run(interpolate(query!.text, ctx), query!.where);
    const rows = series.map((s) => ({ machine: s.tags?.machine, reason: s.tags?.reason, windows: s.values[0]?.[s.columns.indexOf('windows')] }));
    // The run's unmodelled mixer in every window, and fan-3's three windows that did not fit its model.
    expect(rows.sort((a, b) => String(a.machine).localeCompare(String(b.machine)))).toEqual([
      { machine: 'fan-3', reason: 'contract_mismatch', windows: 3 },
      { machine: 'mixer-4', reason: 'no_model', windows: WINDOWS },
    ]);
  });

  it('pdm-fleet-overview draws each model version\'s drift and the retrain threshold it is judged by', async () => {
    const dashboard = JSON.parse(JSON.stringify(FLEET_OVERVIEW.build())) as DashboardJson;
    const ctx = await templateContext(dashboard);
    const queries = panelQueries(dashboard).filter((q) => q.where.includes('panel "Model drift (PSI) vs retrain threshold"'));
    expect(queries.map((q) => q.where.at(-1))).toEqual(['A', 'B']);
    const values = async (query: (typeof queries)[number]) => {
      const series = await run(interpolate(query.text, ctx), query.where);
      return series.map((s) => ({ tags: s.tags, values: s.values.map((row) => row[1]).filter((v): v is number => typeof v === 'number') }));
    };
    const [psi] = await values(queries[0]!);
    expect(psi?.tags).toEqual({ model: 'autoencoder', version: '3' });
    // The run's proc-a: 0.03 ± 0.005 while compressor-1 is healthy, 0.53 ± 0.005 once its fault is full.
    expect(Math.max(...psi!.values)).toBeCloseTo(0.53, 2);
    expect(Math.min(...psi!.values)).toBeLessThan(0.05);
    const [threshold] = await values(queries[1]!);
    expect(new Set(threshold!.values)).toEqual(new Set([0.25]));
  });

  it('the sink-written series carry every field and tag the dashboards reference', async () => {
    for (const [name, { fields, tags }] of Object.entries(SERIES)) {
      const fieldKeys = (await run(`SHOW FIELD KEYS FROM "${name}"`, name)).flatMap((s) => s.values.map((r) => String(r[0])));
      const tagKeys = (await run(`SHOW TAG KEYS FROM "${name}"`, name)).flatMap((s) => s.values.map((r) => String(r[0])));
      expect(fieldKeys, name).toEqual(expect.arrayContaining([...fields]));
      expect(tagKeys.sort(), name).toEqual([...tags].sort());
    }
  });
});
