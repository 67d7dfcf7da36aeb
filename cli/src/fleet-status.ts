// `pdm status`: the fleet as InfluxDB has it, for someone on the plant host without Grafana — each
// machine's last score against its threshold (or why its last window was not scored), the open
// alerts with what people did about them (the alert workflow's own view: pdm alerts list), the
// machines muted now, and each gateway's last health report (outbox depth, how long it could still
// hold an outage, windows dropped) and whether it is still reporting.
import { AlertWorkflow, INFLUX_SINK_DEFAULTS, InfluxSink, type AlertAction, type Episode } from '@pdm/cloud-processor/alert-workflow';
import { GATEWAY_COMPONENT } from '@pdm/cloud-processor/influx-series';
import type { Clock } from '@pdm/clock';
import { age, utc } from './age.js';

/** Hours of outage left below which a gateway's outbox is called nearly full (the dashboards' red band). */
export const OUTBOX_HOURS_WARNING = 6;

export interface MachineStatus {
  siteId: string;
  machineId: string;
  /** The newest score of the machine, whichever model gave it. */
  score?: { time: number; model: string; modelVersion: string; score: number; threshold: number; isAnomaly: boolean };
  /** Its newest window no model scored, when newer than its newest score: why (no_model, contract_mismatch, held). */
  unscored?: { time: number; reason: string; detail: string };
}

export interface GatewayStatus {
  gatewayId: string;
  siteId: string;
  reportedAt: number;
  outboxDepth: number;
  outboxOldestAgeMs: number;
  /** -1: unbounded. */
  outboxHoursOfOutageLeft: number;
  /** Running totals since the gateway started. */
  windowsDropped: number;
  publishErrors: number;
  /** ok, or what is wrong: not reporting for longer than staleAfterMs, windows dropped, outbox nearly full. */
  health: string[];
}

export interface FleetStatus {
  now: number;
  machines: MachineStatus[];
  /** Open episodes (also those resolved by hand, until the processor applies it). */
  alerts: Episode[];
  /** Machines muted now. */
  mutes: AlertAction[];
  gateways: GatewayStatus[];
}

type Row = Record<string, unknown>;

/** Each series' rows as objects keyed by column, with the series' tags. */
function rowsOf(series: { tags?: Record<string, string>; columns: string[]; values: unknown[][] }[]): Row[] {
  return series.flatMap((s) => s.values.map((values) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, values[i]])) })));
}

const num = (value: unknown) => (typeof value === 'number' ? value : Number.NaN);
const text = (value: unknown) => (typeof value === 'string' ? value : '');

export async function readFleetStatus(influx: { url: string; database: string }, clock: Clock, staleAfterMs: number): Promise<FleetStatus> {
  const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, ...influx });
  const newest = (from: string, groupBy: string) => sink.query(`SELECT * FROM ${from} GROUP BY ${groupBy} ORDER BY time DESC LIMIT 1`).then(rowsOf);
  const now = clock.now();
  const [scores, unscored, reports, overview] = await Promise.all([
    newest('"anomaly"', '"site", "machine", "model"'),
    newest('"unscored"', '"site", "machine", "reason"'),
    sink.query(`SELECT * FROM "pipeline" WHERE "component" = '${GATEWAY_COMPONENT}' GROUP BY "instance", "site" ORDER BY time DESC LIMIT 1`).then(rowsOf),
    new AlertWorkflow(sink, clock).list(now),
  ]);

  const machines = new Map<string, MachineStatus>();
  const machine = (row: Row) => {
    const key = `${text(row.site)}/${text(row.machine)}`;
    const status = machines.get(key) ?? { siteId: text(row.site), machineId: text(row.machine) };
    machines.set(key, status);
    return status;
  };
  for (const row of scores) {
    const status = machine(row);
    const time = num(row.time);
    if (status.score && status.score.time >= time) continue;
    status.score = { time, model: text(row.model), modelVersion: text(row.model_version), score: num(row.score), threshold: num(row.threshold), isAnomaly: row.is_anomaly === true };
  }
  for (const row of unscored) {
    const status = machine(row);
    const time = num(row.time);
    if ((status.score && status.score.time >= time) || (status.unscored && status.unscored.time >= time)) continue;
    status.unscored = { time, reason: text(row.reason), detail: text(row.detail) };
  }
  // A score after the newest unscored window: that window is history, not the machine's state.
  for (const status of machines.values()) if (status.score && status.unscored && status.score.time > status.unscored.time) delete status.unscored;

  const gateways = reports.map((row): GatewayStatus => {
    const gateway = {
      gatewayId: text(row.instance),
      siteId: text(row.site),
      reportedAt: num(row.time),
      outboxDepth: num(row.outbox_depth),
      outboxOldestAgeMs: num(row.outbox_oldest_age_ms),
      outboxHoursOfOutageLeft: num(row.outbox_hours_of_outage_left),
      windowsDropped: num(row.windows_dropped),
      publishErrors: num(row.publish_errors),
    };
    const health: string[] = [];
    if (now - gateway.reportedAt > staleAfterMs) health.push(`stale: no report for ${age(now - gateway.reportedAt)}`);
    if (gateway.windowsDropped > 0) health.push(`${gateway.windowsDropped} windows dropped`);
    if (gateway.outboxHoursOfOutageLeft >= 0 && gateway.outboxHoursOfOutageLeft < OUTBOX_HOURS_WARNING) health.push(`outbox full in ${gateway.outboxHoursOfOutageLeft.toFixed(1)} h of outage`);
    return { ...gateway, health: health.length === 0 ? ['ok'] : health };
  });

  const byName = <T>(key: (t: T) => string) => (a: T, b: T) => key(a).localeCompare(key(b));
  return {
    now,
    machines: [...machines.values()].sort(byName((m) => `${m.siteId}/${m.machineId}`)),
    alerts: overview.episodes.filter((e) => e.state !== 'resolved'),
    mutes: overview.mutes,
    gateways: gateways.sort(byName((g) => `${g.siteId}/${g.gatewayId}`)),
  };
}

const when = (ms: number, now: number) => `${utc(ms)} (${age(now - ms)} ago)`;

/** Left-aligned text columns, right-aligned numbers; an empty table is "none". */
function table(header: string[], rows: string[][], numeric: ReadonlySet<number>): string[] {
  if (rows.length === 0) return ['  none'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

export function renderFleetStatus(status: FleetStatus, source: string): string[] {
  const { now } = status;
  const muted = new Map(status.mutes.map((m) => [`${m.siteId}/${m.machineId}`, m]));
  const machineRows = status.machines.map((m) => {
    const mute = muted.has(`${m.siteId}/${m.machineId}`) ? ' (muted)' : '';
    if (m.unscored) return [`${m.siteId}/${m.machineId}`, '-', when(m.unscored.time, now), '-', '-', '-', `not scored: ${m.unscored.reason}${mute}`];
    const s = m.score!;
    return [`${m.siteId}/${m.machineId}`, `${s.model}@${s.modelVersion}`, when(s.time, now), s.score.toFixed(2), s.threshold.toFixed(2), (s.score / s.threshold).toFixed(2), `${s.isAnomaly ? 'ANOMALOUS' : 'normal'}${mute}`];
  });
  const alertRows = status.alerts.map((e) => [
    e.alertId,
    `${e.siteId}/${e.machineId}`,
    `${e.state}${e.suppressed ? ' (suppressed: muted)' : ''}`,
    when(e.openedAt, now),
    e.ack ? `${e.ack.who} ${age(now - e.ack.time)} ago` : '-',
    e.label ? `${e.label.label}${e.label.cause ? `: ${e.label.cause}` : ''}` : '-',
  ]);
  const muteRows = status.mutes.map((m) => [`${m.siteId}/${m.machineId}`, utc(m.muteUntil!), m.who, m.note ?? '']);
  const gatewayRows = status.gateways.map((g) => [
    g.gatewayId,
    g.siteId,
    when(g.reportedAt, now),
    String(g.outboxDepth),
    g.outboxDepth > 0 ? age(g.outboxOldestAgeMs) : '-',
    g.outboxHoursOfOutageLeft < 0 ? 'unbounded' : g.outboxHoursOfOutageLeft.toFixed(1),
    g.health.join(', '),
  ]);
  return [
    `pdm status at ${utc(now)} from ${source}`,
    `Machines (${status.machines.length}): the newest window of each`,
    ...table(['machine', 'model', 'last window', 'score', 'threshold', 'score/threshold', 'state'], machineRows, new Set([3, 4, 5])),
    `Open alerts (${status.alerts.length})`,
    ...table(['alert', 'machine', 'state', 'opened', 'acknowledged', 'label'], alertRows, new Set()),
    `Muted machines (${status.mutes.length})`,
    ...table(['machine', 'until', 'by', 'note'], muteRows, new Set()),
    `Gateways (${status.gateways.length}): the newest health report of each`,
    ...table(['gateway', 'site', 'last report', 'outbox', 'oldest', 'outage hours left', 'health'], gatewayRows, new Set([3, 4, 5])),
  ];
}
