// `pdm alerts`: the maintenance team's alert workflow against the InfluxDB the processor writes to —
// list episodes, acknowledge, resolve by hand, label, mute and unmute a machine
// (@pdm/cloud-processor/alert-workflow; the processor applies resolves and mutes at the machine's next window).
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { systemClock } from '@pdm/clock';
import { parseDuration } from '@pdm/config';
import { ALERT_LABEL, AlertWorkflow, AlertWorkflowError, INFLUX_SINK_DEFAULTS, InfluxSink, type AlertAction, type Episode } from '@pdm/cloud-processor/alert-workflow';
import { utc } from '../age.js';
import { type Command, type CommandContext, UsageError } from '../command.js';
import { timeFlag } from '../csv-flags.js';
import { influxUrlFlag } from '../influx-url.js';

const USAGE = `Usage:
  pdm alerts list    [--since 7d]
  pdm alerts ack     ALERT_ID [--note TEXT]
  pdm alerts resolve ALERT_ID [--note TEXT]
  pdm alerts label   ALERT_ID --label ${ALERT_LABEL.join('|')} [--cause TEXT] [--note TEXT]
  pdm alerts mute    MACHINE (--for DURATION | --until TIME) [--site ID] [--note TEXT]
  pdm alerts unmute  MACHINE [--site ID] [--note TEXT]

The alert workflow, stored in InfluxDB beside the alerts (measurement alert_actions):
  list     open alerts, and those with a transition or action within --since, with state (open,
           resolving: resolved by hand, applied at the machine's next window; resolved), who
           acknowledged, label and cause, whether it opened while the machine was muted
           (suppressed: recorded, not delivered); then the machines muted now
  ack      acknowledge an alert (ALERT_ID as listed, e.g. pump-1-1733475600000)
  resolve  resolve an open alert by hand: the processor resolves it at the machine's next window
           (within alerts.actionsRefreshMs) and delivers the resolve; the next alert opens afresh
  label    say what an alert was: fault, false_alarm or maintenance, with a free-text --cause
  mute     mute a machine for a maintenance window: its windows are still stored and scored, an
           alert that opens meanwhile is recorded as suppressed and not delivered (nor its resolve),
           unless it is still anomalous after the mute: then it is delivered at that window
  unmute   end a machine's mute now

Options:
  --since DURATION   list: how far back resolved alerts are shown (default 7d; e.g. 24h, 30m)
  --note TEXT        why, in a few words (stored with the action)
  --who NAME         who does it (default: the user running pdm)
  --label LABEL      label: ${ALERT_LABEL.join(', ')}
  --cause TEXT       label: what it was, in free text
  --for DURATION     mute: from now, e.g. 4h, 1h30m, 2d
  --until TIME       mute: until a time such as 2026-12-06T18:00:00Z (ISO-8601, no zone = UTC,
                     or epoch ms/s)
                     A mute lasts at most as long as InfluxDB keeps its point: the raw retention
                     policy (influx.rawRetention, 30d by default); mute again before it ends
  --site ID          mute, unmute: the machine's site (default: its one site in InfluxDB; needed for
                     a machine with no windows stored yet)
  --influx-url URL   InfluxDB the processor writes to (default: http://127.0.0.1:8086)
  --database NAME    its database (default: pdm)
  -h, --help         show this help`;

const ACTIONS = ['list', 'ack', 'resolve', 'label', 'mute', 'unmute'] as const;
type Action = (typeof ACTIONS)[number];

export const alerts: Command = {
  usage: USAGE,
  async run(args: string[], context: CommandContext): Promise<number> {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        since: { type: 'string', default: '7d' },
        note: { type: 'string' },
        who: { type: 'string' },
        label: { type: 'string' },
        cause: { type: 'string' },
        for: { type: 'string' },
        until: { type: 'string' },
        site: { type: 'string' },
        'influx-url': { type: 'string', default: 'http://127.0.0.1:8086' },
        database: { type: 'string', default: 'pdm' },
      },
      strict: true,
    });
    const [action, target, ...extra] = positionals;
    if (!ACTIONS.includes(action as Action)) throw new UsageError(action === undefined ? 'say what to do: list, ack, resolve, label, mute or unmute' : `unknown action "${action}": expected one of ${ACTIONS.join(', ')}`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (action === 'list' && target !== undefined) throw new UsageError(`pdm alerts list takes no argument, got "${target}"`);
    if (action !== 'list' && target === undefined) throw new UsageError(`pdm alerts ${action} needs ${action === 'mute' || action === 'unmute' ? 'a MACHINE id' : 'an ALERT_ID (pdm alerts list shows them)'}`);

    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influxUrlFlag(values['influx-url']), database: values.database, batchMaxDelayMs: 1 });
    const workflow = new AlertWorkflow(sink, systemClock);
    const by = { who: values.who ?? currentUser(), ...(values.note !== undefined && { note: values.note }) };
    const machine = { machineId: target ?? '', ...(values.site !== undefined && { siteId: values.site }) };
    try {
      switch (action as Action) {
        case 'list': {
          const overview = await workflow.list(systemClock.now() - duration('since', values.since));
          for (const line of listing(overview.episodes, overview.mutes)) context.out(line);
          return 0;
        }
        case 'ack':
          context.out(done(await workflow.ack(target!, by)));
          return 0;
        case 'resolve':
          context.out(`${done(await workflow.resolve(target!, by))}; the processor resolves it at the machine's next window`);
          return 0;
        case 'label':
          if (values.label === undefined) throw new UsageError(`pdm alerts label needs --label ${ALERT_LABEL.join('|')}`);
          context.out(done(await workflow.label(target!, values.label, values.cause, by)));
          return 0;
        case 'mute':
          context.out(done(await workflow.mute(machine, muteUntil(values.for, values.until), by)));
          return 0;
        case 'unmute':
          context.out(done(await workflow.unmute(machine, by)));
          return 0;
      }
    } catch (error) {
      // A request the stored alerts refuse is the user's mistake, told in one line without the usage.
      if (!(error instanceof AlertWorkflowError)) throw error;
      context.err(`pdm alerts: ${error.message}`);
      return 1;
    }
  },
};

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    throw new UsageError('--who NAME is required: the user running pdm has no name on this host');
  }
}

function duration(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`);
  }
}

function muteUntil(forText: string | undefined, untilText: string | undefined): number {
  if ((forText === undefined) === (untilText === undefined)) throw new UsageError('pdm alerts mute needs either --for DURATION or --until TIME');
  return forText !== undefined ? systemClock.now() + duration('for', forText) : timeFlag('until', untilText!);
}


function done(action: AlertAction): string {
  const what = action.alertId ?? `${action.siteId}/${action.machineId}`;
  const until = action.muteUntil === undefined ? '' : ` until ${utc(action.muteUntil)}`;
  const label = action.label === undefined ? '' : ` ${action.label}${action.cause ? ` (${action.cause})` : ''}`;
  return `${action.action}${label} ${what}${until} by ${action.who} at ${utc(action.time)}`;
}

/** One line per episode (open first), then the machines muted now. */
function listing(episodes: Episode[], mutes: AlertAction[]): string[] {
  if (episodes.length === 0 && mutes.length === 0) return ['no alerts'];
  const lines = episodes.map((e) => {
    const parts = [`${e.alertId}  ${e.siteId}/${e.machineId}  ${e.state}${e.suppressed ? ' (suppressed: muted)' : ''}  opened ${utc(e.openedAt)}`];
    if (e.resolvedAt !== undefined) parts.push(`resolved ${utc(e.resolvedAt)}`);
    if (e.resolvedByHand) parts.push(`resolved by hand by ${e.resolvedByHand.who}${e.resolvedByHand.note ? ` (${e.resolvedByHand.note})` : ''}`);
    if (e.ack) parts.push(`ack ${e.ack.who} ${utc(e.ack.time)}${e.ack.note ? ` (${e.ack.note})` : ''}`);
    if (e.label) parts.push(`label ${e.label.label}${e.label.cause ? `: ${e.label.cause}` : ''} (${e.label.who})`);
    return parts.join('  ');
  });
  for (const m of mutes) lines.push(`muted ${m.siteId}/${m.machineId} until ${utc(m.muteUntil!)} by ${m.who}${m.note ? ` (${m.note})` : ''}`);
  return lines;
}
