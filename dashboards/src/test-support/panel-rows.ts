// One panel's (or annotation's) query of a generated dashboard, run against a real influxd as Grafana
// would send it, its answer as rows: for tests that check what a panel shows, not only that it shows
// something (proof.test.ts).
import { DEFAULT_DATABASE } from '@pdm/cloud-processor/influx-series';
import type { RunningInflux } from '@pdm/influx-harness';
import { panelQueries, type DashboardJson, type FoundQuery } from './dashboard-queries.js';
import { interpolate, type TemplateContext } from './grafana-interpolation.js';

/** A result row: its series' tags and its columns, by name. */
export type Row = Record<string, unknown>;

/** The query of the panel or annotation titled `title`; `refId` picks one of a panel's several. */
export function queryOf(dashboard: DashboardJson, title: string, refId?: string): FoundQuery {
  const found = panelQueries(dashboard).filter(
    (q) => (q.where.includes(`panel "${title}" › `) || q.where.endsWith(`annotation "${title}"`)) && (refId === undefined || q.where.endsWith(` › ${refId}`)),
  );
  if (found.length !== 1) throw new Error(`${dashboard.uid}: ${found.length} queries titled "${title}"${refId ? ` with refId ${refId}` : ''}, not one`);
  return found[0]!;
}

export async function resultRows(influx: RunningInflux, query: Pick<FoundQuery, 'text' | 'where'>, ctx: TemplateContext): Promise<Row[]> {
  const statement = interpolate(query.text, ctx);
  const result = (await influx.query(statement, DEFAULT_DATABASE)).results[0];
  if (result?.error) throw new Error(`${query.where}: ${result.error}\n  ${statement}`);
  return (result?.series ?? []).flatMap((s) => s.values.map((row) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, k) => [c, row[k]])) })));
}
