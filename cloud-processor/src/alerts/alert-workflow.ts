// The alert workflow of the maintenance team, over InfluxDB: list the alert episodes with what people
// did about them, acknowledge, resolve by hand, label an episode, mute and unmute a machine. Shared by
// `pdm alerts` and the processor's API (`@pdm/cloud-processor/alert-workflow`, which loads no
// TensorFlow). Every action is checked against what is stored (an unknown alert id, a resolved episode
// resolved again, a mute in the past or longer than InfluxDB keeps it, a machine or site id InfluxDB
// cannot store are refused with an AlertWorkflowError naming what is wrong) before anything is written,
// and recorded in `alert_actions` (alert-actions.ts); the processor applies resolves and mutes.
//
// One workflow runs an episode's actions one after another, each checked against what the one before
// it stored: two resolves arriving together through the processor's API would otherwise both read the
// episode open and both be written (InfluxDB has no compare-and-set; at the same millisecond the second
// point even replaces the first). Across processes (two processors, or `pdm alerts` beside one) nothing
// orders them: each may still read before the other's write lands. A mute or unmute is checked
// against nothing another action changes, so they are not ordered.
import { MAX_DATE_MS, isoTime, type Clock } from '@pdm/clock';
import { parseDuration } from '@pdm/config';
import type { InfluxSeries, InfluxSink } from '../sink/influx-sink.js';
import { ALERT_LABEL, type AlertLabel } from '../sink/influx-series.js';
import { AlertActionLog, ProcessorActions, influxString, type AlertAction } from './alert-actions.js';
import type { MachineRef } from './alert-store.js';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';

export { ALERT_LABEL, type AlertLabel };
export type { AlertAction };
export { influxString };
export { InfluxSink } from '../sink/influx-sink.js';
export { INFLUX_SINK_DEFAULTS };

/** A request the stored alerts refuse: an unknown alert id or machine, an episode already resolved, a bad value. */
export class AlertWorkflowError extends Error {
  constructor(
    message: string,
    readonly reason: 'unknown' | 'conflict' | 'invalid',
  ) {
    super(message);
    this.name = 'AlertWorkflowError';
  }
}

export interface Episode {
  alertId: string;
  siteId: string;
  machineId: string;
  openedAt: number;
  /** The open transition's message and score. */
  message: string;
  score: number;
  /** `resolving`: resolved by hand, not yet applied by the processor (at the machine's next window). */
  state: 'open' | 'resolving' | 'resolved';
  resolvedAt?: number;
  resolveMessage?: string;
  /** Opened while its machine was muted: recorded, not delivered (unless announced after the mute: then false). */
  suppressed: boolean;
  /** The newest of each. */
  ack?: AlertAction;
  label?: AlertAction;
  resolvedByHand?: AlertAction;
}

export interface AlertOverview {
  /** Open ones first, then newest first. */
  episodes: Episode[];
  /** Machines muted now, with the mute that covers them. */
  mutes: AlertAction[];
}

/** The latest time InfluxDB 1.x stores (int64 ns less one), in ms: no alert opened after it. */
const MAX_INFLUX_MS = 9_223_372_036_854;

/** A length of time for a message: whole days, hours or minutes when it is one. */
function span(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms} ms`;
}

/** A retention policy's duration as InfluxDB shows it ("720h0m0s"; "0s": kept forever) in ms, undefined in a form not read. */
function retentionMs(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/**
 * A machine or site id as given for an action: it becomes a tag of the `alert_actions` point, and a
 * tag value with a control character (a newline ends the line and starts another point) or ending in a
 * backslash cannot be written in line protocol (sink/line-protocol.ts): InfluxDB would refuse the
 * write or store a stray point.
 */
function checkId(kind: 'machine' | 'site', id: string): void {
  if (id === '' || /\p{Cc}/u.test(id) || id.endsWith('\\')) {
    throw new AlertWorkflowError(`invalid ${kind} id ${JSON.stringify(id)}: an id is not empty, has no control character (newline, tab, …) and does not end in a backslash`, 'invalid');
  }
}

/** Who did it and why, for every action. */
export interface Actor {
  who: string;
  note?: string;
}

/** Runs work for one key after the work asked before for that key is done, whether it succeeded or not. */
class OneAtATime {
  /** Per key, settles (never rejects) when its last work is done; a key is forgotten once idle. */
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const done = (this.tails.get(key) ?? Promise.resolve()).then(work);
    const tail = done.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return done;
  }
}

export class AlertWorkflow {
  private readonly log: AlertActionLog;
  private readonly perEpisode = new OneAtATime();

  constructor(
    private readonly sink: InfluxSink,
    private readonly clock: Clock,
  ) {
    this.log = new AlertActionLog(sink);
  }

  /** Episodes open now or with a transition or action after `since` (epoch ms), and the machines muted now. */
  async list(since: number): Promise<AlertOverview> {
    const now = this.clock.now();
    const [series, actions] = await Promise.all([this.sink.query('SELECT * FROM "alerts"'), this.log.list()]);
    const episodes = episodesOf(series, actions).filter(
      (e) => e.state !== 'resolved' || (e.resolvedAt ?? 0) > since || [e.ack, e.label, e.resolvedByHand].some((a) => a && a.time > since),
    );
    episodes.sort((a, b) => Number(a.state === 'resolved') - Number(b.state === 'resolved') || b.openedAt - a.openedAt);
    const processorActions = new ProcessorActions(actions);
    const machines = new Map(actions.filter((a) => a.action === 'mute').map((a) => [`${a.siteId}\u0000${a.machineId}`, a]));
    const mutes = [...machines.values()].flatMap((m) => processorActions.muteAt(m, now) ?? []);
    return { episodes, mutes };
  }

  ack(alertId: string, by: Actor): Promise<AlertAction> {
    return this.perEpisode.run(alertId, async () => {
      const episode = await this.episode(alertId);
      return this.record({ ...this.machineOf(episode), action: 'ack', alertId, ...by });
    });
  }

  /** The processor resolves the episode at the machine's next window (and delivers the resolve). */
  resolve(alertId: string, by: Actor): Promise<AlertAction> {
    return this.perEpisode.run(alertId, async () => {
      const episode = await this.episode(alertId);
      if (episode.state !== 'open') throw new AlertWorkflowError(alreadyResolved(episode), 'conflict');
      return this.record({ ...this.machineOf(episode), action: 'resolve', alertId, ...by });
    });
  }

  async label(alertId: string, label: string, cause: string | undefined, by: Actor): Promise<AlertAction> {
    if (!ALERT_LABEL.includes(label as AlertLabel)) throw new AlertWorkflowError(`unknown label "${label}": expected one of ${ALERT_LABEL.join(', ')}`, 'invalid');
    return this.perEpisode.run(alertId, async () => {
      const episode = await this.episode(alertId);
      return this.record({ ...this.machineOf(episode), action: 'label', alertId, label: label as AlertLabel, ...(cause !== undefined && { cause }), ...by });
    });
  }

  /**
   * Mutes a machine until `until` (epoch ms): its windows are still stored and scored, an episode that
   * opens meanwhile is recorded as suppressed. Without a site, the machine's one site in InfluxDB.
   * `until` lies at most as far ahead as InfluxDB keeps the mute's point (longestMute).
   */
  async mute(machine: { siteId?: string; machineId: string }, until: number, by: Actor): Promise<AlertAction> {
    checkMachine(machine);
    if (!Number.isFinite(until)) throw new AlertWorkflowError(`the mute would never end (its end is ${until}): give a duration or a time`, 'invalid');
    const now = this.clock.now();
    if (!(until > now)) throw new AlertWorkflowError(`the mute would end at ${isoTime(until)}, which is not in the future`, 'invalid');
    const longest = await this.longestMute(now);
    if (until - now > longest.ms) throw new AlertWorkflowError(`the mute would end at ${isoTime(until)}, after the longest mute possible, ${span(longest.ms)} (until ${isoTime(now + longest.ms)}): ${longest.why}`, 'invalid');
    return this.record({ ...(await this.machine(machine)), action: 'mute', muteUntil: until, ...by });
  }

  async unmute(machine: { siteId?: string; machineId: string }, by: Actor): Promise<AlertAction> {
    checkMachine(machine);
    return this.record({ ...(await this.machine(machine)), action: 'unmute', ...by });
  }

  private async record(action: Omit<AlertAction, 'time'>): Promise<AlertAction> {
    const taken = { time: this.clock.now(), ...action };
    await this.log.record(taken);
    return taken;
  }

  /**
   * How long a mute taken `now` can last, and why: its point lives in the database's default retention
   * policy (the processor's `influx.rawRetention`, `raw` 30d by default), and the processor forgets the
   * mute once InfluxDB drops the point, which it may do as soon as the point is that old. A policy that
   * keeps points forever leaves the end any time a Date holds.
   */
  private async longestMute(now: number): Promise<{ ms: number; why: string }> {
    const series = await this.sink.query('SHOW RETENTION POLICIES');
    const policy = series
      .flatMap((s) => s.values.map((row) => ({ name: String(row[s.columns.indexOf('name')]), duration: String(row[s.columns.indexOf('duration')]), isDefault: row[s.columns.indexOf('default')] === true })))
      .find((p) => p.isDefault);
    const kept = policy === undefined ? undefined : retentionMs(policy.duration);
    if (policy !== undefined && kept === 0) return { ms: MAX_DATE_MS - now, why: `the retention policy "${policy.name}" keeps points forever, and a Date holds no later time` };
    // No default policy (or one InfluxDB shows in an unknown form): the processor's default.
    const ms = kept ?? parseDuration(INFLUX_SINK_DEFAULTS.rawRetention.duration);
    const name = policy?.name ?? INFLUX_SINK_DEFAULTS.rawRetention.name;
    return {
      ms,
      why: `a mute is an alert_actions point, which InfluxDB keeps ${span(ms)} (retention policy "${name}", the processor's influx.rawRetention), and it ends when that point is dropped; mute again before then to extend it`,
    };
  }

  private machineOf(episode: Episode): MachineRef {
    return { siteId: episode.siteId, machineId: episode.machineId };
  }

  /** The episode an alert id names: its open transition lies at the window end the id ends with. */
  private async episode(alertId: string): Promise<Episode> {
    const openedAt = /-(\d+)$/.exec(alertId)?.[1];
    const unknown = new AlertWorkflowError(`unknown alert id ${JSON.stringify(alertId)}: no alert opened with this id (pdm alerts list shows them)`, 'unknown');
    // Nor can one open at a time InfluxDB does not store, nor have a control character in its id (both
    // would make the query below invalid).
    if (openedAt === undefined || !(Number(openedAt) <= MAX_INFLUX_MS) || /\p{Cc}/u.test(alertId)) throw unknown;
    const [series, actions] = await Promise.all([
      this.sink.query(`SELECT * FROM "alerts" WHERE time >= ${openedAt}ms AND "alert_id" = ${influxString(alertId)}`),
      this.log.list({ alertId }),
    ]);
    const [episode] = episodesOf(series, actions);
    if (!episode) throw unknown;
    return episode;
  }

  /** The machine with its site: given, or the one site InfluxDB has windows of it from. */
  private async machine(machine: { siteId?: string; machineId: string }): Promise<MachineRef> {
    if (machine.siteId !== undefined) return { siteId: machine.siteId, machineId: machine.machineId };
    const series = await this.sink.query(`SHOW TAG VALUES FROM "anomaly", "unscored" WITH KEY = "site" WHERE "machine" = ${influxString(machine.machineId)}`);
    const sites = [...new Set(series.flatMap((s) => s.values.map((row) => String(row[s.columns.indexOf('value')]))))];
    if (sites.length === 0) throw new AlertWorkflowError(`unknown machine "${machine.machineId}": InfluxDB holds no window of it (give its site to act on it all the same)`, 'unknown');
    if (sites.length > 1) throw new AlertWorkflowError(`machine "${machine.machineId}" is on several sites (${sites.sort().join(', ')}): say which`, 'invalid');
    return { siteId: sites[0]!, machineId: machine.machineId };
  }
}

/** Why an episode no longer open cannot be resolved: who resolved it and when. */
function alreadyResolved(episode: Episode): string {
  const { alertId, resolvedByHand, resolvedAt, resolveMessage } = episode;
  if (episode.state === 'resolving') {
    return `alert ${alertId} is already being resolved by hand: by ${resolvedByHand!.who} at ${isoTime(resolvedByHand!.time)} (the processor closes it at the machine's next window)`;
  }
  return `alert ${alertId} is already resolved: at ${isoTime(resolvedAt!)}${resolveMessage ? ` (${resolveMessage})` : ''}`;
}

function checkMachine(machine: { siteId?: string; machineId: string }): void {
  checkId('machine', machine.machineId);
  if (machine.siteId !== undefined) checkId('site', machine.siteId);
}

/** Episodes from `alerts` points (open and resolved transitions) and the actions taken on them. */
function episodesOf(series: InfluxSeries[], actions: readonly AlertAction[]): Episode[] {
  const episodes = new Map<string, Episode>();
  const resolved = new Map<string, { time: number; message: string }>();
  for (const s of series) {
    const column = (row: unknown[], name: string) => row[s.columns.indexOf(name)];
    const text = (row: unknown[], name: string) => (typeof column(row, name) === 'string' ? (column(row, name) as string) : '');
    for (const row of s.values) {
      const alertId = text(row, 'alert_id');
      const time = Number(column(row, 'time'));
      if (column(row, 'state') === 'resolved') {
        resolved.set(alertId, { time, message: text(row, 'message') });
        continue;
      }
      episodes.set(alertId, {
        alertId,
        siteId: text(row, 'site'),
        machineId: text(row, 'machine'),
        openedAt: time,
        message: text(row, 'message'),
        score: Number(column(row, 'score')),
        state: 'open',
        suppressed: column(row, 'suppressed') === true,
      });
    }
  }
  for (const action of actions) {
    const episode = action.alertId === undefined ? undefined : episodes.get(action.alertId);
    if (episode && action.action === 'ack') episode.ack = action;
    if (episode && action.action === 'label') episode.label = action;
    if (episode && action.action === 'resolve') episode.resolvedByHand ??= action;
  }
  for (const episode of episodes.values()) {
    const end = resolved.get(episode.alertId);
    if (end) Object.assign(episode, { state: 'resolved', resolvedAt: end.time, resolveMessage: end.message });
    else if (episode.resolvedByHand) episode.state = 'resolving';
  }
  return [...episodes.values()];
}
