// `pdm evaluate --from-influx`: how right the detector was on the real machines, from the maintenance
// team's labels (pdm alerts label) on the alert episodes the processor stored. Precision =
// fault / (fault + false_alarm) over the labelled episodes; maintenance episodes (planned work the
// detector saw) count as neither, unlabelled ones are listed apart. Per model (the model whose window
// opened the episode, from `anomaly`) and per machine.
import { AlertWorkflow, INFLUX_SINK_DEFAULTS, InfluxSink, influxString, type AlertLabel } from '@pdm/cloud-processor/alert-workflow';
import type { Clock } from '@pdm/clock';

export interface PrecisionRow {
  key: string;
  episodes: number;
  fault: number;
  false_alarm: number;
  maintenance: number;
  unlabelled: number;
  /** fault / (fault + false_alarm); null without either. */
  precision: number | null;
}

/** Rows per key (a model, a machine), sorted by key. */
export function precisionBy<E extends { label?: { label?: AlertLabel } }>(episodes: readonly E[], keyOf: (e: E) => string): PrecisionRow[] {
  const rows = new Map<string, PrecisionRow>();
  for (const episode of episodes) {
    const key = keyOf(episode);
    const row = rows.get(key) ?? { key, episodes: 0, fault: 0, false_alarm: 0, maintenance: 0, unlabelled: 0, precision: null };
    row.episodes++;
    row[episode.label?.label ?? 'unlabelled']++;
    rows.set(key, row);
  }
  for (const row of rows.values()) row.precision = row.fault + row.false_alarm > 0 ? row.fault / (row.fault + row.false_alarm) : null;
  return [...rows.values()].sort((a, b) => a.key.localeCompare(b.key));
}

export interface LabelledPrecision {
  since: number;
  byModel: PrecisionRow[];
  byMachine: PrecisionRow[];
}

/** An episode's alert id names its machine and window, not its site. */
const episodeKey = (e: { siteId: string; alertId: string }) => `${e.siteId}/${e.alertId}`;

/** Episodes opened after `since`, with the model that scored the window opening each. */
export async function labelledPrecision(influx: { url: string; database: string }, since: number, clock: Clock): Promise<LabelledPrecision> {
  const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, ...influx });
  const episodes = (await new AlertWorkflow(sink, clock).list(since)).episodes.filter((e) => e.openedAt > since);
  const models = new Map<string, string>();
  for (const e of episodes) {
    // The anomalous window that ended when the episode opened: anomaly points lie at their window's start.
    // A machine id is unique only within its site (alert rows written before they carried it have none).
    const site = e.siteId === '' ? '' : `AND "site" = ${influxString(e.siteId)} `;
    const series = await sink.query(
      `SELECT last("score") FROM "anomaly" WHERE "machine" = ${influxString(e.machineId)} ${site}AND "is_anomaly" = true ` +
        `AND time < ${e.openedAt}ms AND time > ${e.openedAt - 86_400_000}ms GROUP BY "model"`,
    );
    const newest = series.sort((a, b) => Number(b.values[0]?.[0]) - Number(a.values[0]?.[0]))[0];
    models.set(episodeKey(e), newest?.tags?.model ?? '(unknown model)');
  }
  return {
    since,
    byModel: precisionBy(episodes, (e) => models.get(episodeKey(e))!),
    byMachine: precisionBy(episodes, (e) => `${e.siteId}/${e.machineId}`),
  };
}

export function renderPrecision(result: LabelledPrecision): string[] {
  const header = ['', 'episodes', 'fault', 'false_alarm', 'maintenance', 'unlabelled', 'precision'];
  const table = (title: string, rows: PrecisionRow[]) => {
    const cells = rows.map((r) => [r.key, r.episodes, r.fault, r.false_alarm, r.maintenance, r.unlabelled, r.precision === null ? '-' : r.precision.toFixed(2)].map(String));
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (c: string[]) => c.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
    return [title, line([title === 'by model' ? 'model' : 'machine', ...header.slice(1)]), ...cells.map(line)];
  };
  if (result.byMachine.length === 0) return [`no alert episode opened since ${new Date(result.since).toISOString()}`];
  return [
    `alert episodes opened since ${new Date(result.since).toISOString()}; precision = fault / (fault + false_alarm), maintenance counts as neither (pdm alerts label)`,
    ...table('by model', result.byModel),
    ...table('by machine', result.byMachine),
  ];
}
