// What people do about alerts — acknowledge an episode, resolve it by hand, mute a machine for a
// maintenance window, label an episode fault / false alarm / maintenance — stored in InfluxDB beside
// the alerts (`alert_actions`, sink/influx-series.ts), one point per action at the time it was taken.
// Written and listed by `pdm alerts` (and the processor's API); read by the processor, where a resolve
// by hand and a mute take effect at the machine's next window (alert-dispatcher.ts).
import type { Clock } from '@pdm/clock';
import type { InfluxSeries, InfluxSink } from '../sink/influx-sink.js';
import { ALERT_ACTION, ALERT_LABEL, type AlertActionKind, type AlertLabel } from '../sink/influx-series.js';
import type { AlertActionInput } from '../sink/points.js';
import type { MachineRef } from './alert-store.js';
import { machineKey } from '../shared/machine-key.js';

export type AlertAction = AlertActionInput;

/** The actions the processor acts on; the others (ack, label) are for people and dashboards. */
const PROCESSOR_ACTIONS: readonly AlertActionKind[] = ['resolve', 'mute', 'unmute'];

export class AlertActionLog {
  constructor(private readonly sink: InfluxSink) {}

  /** Resolves once the action is stored. */
  record(action: AlertAction): Promise<void> {
    return this.sink.writeAlertAction(action);
  }

  /** Actions, oldest first: taken after `since` (epoch ms; every one kept when unset), of `kinds`, on episode `alertId`. */
  async list(filter: { since?: number; kinds?: readonly AlertActionKind[]; alertId?: string } = {}): Promise<AlertAction[]> {
    const where = [
      ...(filter.since === undefined ? [] : [`time > ${Math.floor(filter.since)}ms`]),
      ...(filter.kinds ? [`"action" =~ /^(?:${filter.kinds.join('|')})$/`] : []),
      ...(filter.alertId === undefined ? [] : [`"alert_id" = ${influxString(filter.alertId)}`]),
    ];
    const series = await this.sink.query(`SELECT * FROM "alert_actions"${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`);
    return series.flatMap((s) => s.values.map((row) => actionOf(s, row))).sort((a, b) => a.time - b.time);
  }
}

/** A string as an InfluxQL literal. */
export const influxString = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function actionOf(series: InfluxSeries, row: unknown[]): AlertAction {
  const field = (name: string) => row[series.columns.indexOf(name)] ?? undefined;
  const text = (name: string) => (typeof field(name) === 'string' ? (field(name) as string) : undefined);
  const action = text('action') as AlertActionKind;
  if (!ALERT_ACTION.includes(action)) throw new Error(`alert_actions holds an unknown action "${action}"`);
  const label = text('label') as AlertLabel | undefined;
  const muteUntil = field('mute_until');
  return {
    time: Number(field('time')),
    action,
    siteId: text('site') ?? '',
    machineId: text('machine') ?? '',
    who: text('who') ?? '',
    ...(text('alert_id') !== undefined && { alertId: text('alert_id') }),
    ...(text('note') !== undefined && { note: text('note') }),
    ...(label !== undefined && ALERT_LABEL.includes(label) && { label }),
    ...(text('cause') !== undefined && { cause: text('cause') }),
    ...(typeof muteUntil === 'number' && { muteUntil }),
  };
}

/** The actions that change what the processor does with a machine's windows, looked up by episode and machine. */
export class ProcessorActions {
  private readonly resolves = new Map<string, AlertAction>();
  /** Per machine, its mutes and unmutes, oldest first. */
  private readonly mutes = new Map<string, AlertAction[]>();

  constructor(actions: readonly AlertAction[]) {
    for (const action of [...actions].sort((a, b) => a.time - b.time)) {
      if (action.action === 'resolve' && action.alertId !== undefined && !this.resolves.has(action.alertId)) this.resolves.set(action.alertId, action);
      if (action.action === 'mute' || action.action === 'unmute') {
        const key = machineKey(action);
        this.mutes.set(key, [...(this.mutes.get(key) ?? []), action]);
      }
    }
  }

  /** The first resolve by hand of an episode, if any. */
  resolvedByHand(alertId: string): AlertAction | undefined {
    return this.resolves.get(alertId);
  }

  /**
   * The mute covering a machine at `time` (a window's end, so a redelivered window is judged alike):
   * the newest mute or unmute taken at or before `time` decides, and a mute lasts until its muteUntil.
   */
  muteAt(machine: MachineRef, time: number): AlertAction | undefined {
    const decisive = (this.mutes.get(machineKey(machine)) ?? []).filter((a) => a.time <= time).at(-1);
    return decisive?.action === 'mute' && time < (decisive.muteUntil ?? Number.NEGATIVE_INFINITY) ? decisive : undefined;
  }
}

/** How often the processor reads the actions by default (`alerts.actionsRefreshMs`): one small query per processor. */
export const ALERT_ACTIONS_REFRESH_MS = 5_000;

export const NO_ACTIONS: { current(): Promise<ProcessorActions> } = { current: () => Promise.resolve(new ProcessorActions([])) };

/**
 * The processor's view of the actions, read again at most every `refreshMs` (one small query for all
 * machines: people act rarely), so an action takes effect at a machine's first window counted after
 * the next read. Reads asked for while one is in progress share it.
 */
export class ProcessorActionsView {
  private cached?: { readAt: number; actions: ProcessorActions };
  private reading?: Promise<ProcessorActions>;

  constructor(
    private readonly log: AlertActionLog,
    private readonly clock: Clock,
    private readonly refreshMs: number,
  ) {}

  current(): Promise<ProcessorActions> {
    if (this.cached && this.clock.now() - this.cached.readAt < this.refreshMs) return Promise.resolve(this.cached.actions);
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<ProcessorActions> {
    const readAt = this.clock.now();
    const actions = new ProcessorActions(await this.log.list({ kinds: PROCESSOR_ACTIONS }));
    this.cached = { readAt, actions };
    return actions;
  }
}

