// `pdm status`: the fleet from InfluxDB (fleet-status.ts) once, or refreshed every few seconds with
// --watch: in place on a terminal (the screen cleared each time), as repeated blocks into a pipe or file.
import { parseArgs } from 'node:util';
import { sleep, systemClock, type Clock } from '@pdm/clock';
import { hidePassword, parseDuration } from '@pdm/config';
import { type Command, type CommandContext, UsageError } from '../command.js';
import { influxUrlFlag } from '../influx-url.js';
import { readFleetStatus, renderFleetStatus, OUTBOX_HOURS_WARNING } from '../fleet-status.js';

const DEFAULT_WATCH_SECONDS = 10;

const USAGE = `Usage: pdm status [--watch [SECONDS]] [--json] [--stale-after 1m] [--influx-url URL]
                  [--database NAME]

The fleet as InfluxDB has it, for the plant host without Grafana:
  Machines        each machine's newest window: the model and version that scored it, score,
                  threshold, score/threshold and normal or ANOMALOUS; or "not scored: REASON" when
                  its newest window was not scored (no_model, contract_mismatch, held); (muted)
  Open alerts     alert id, machine, state (open; resolving: resolved by hand, applied at the
                  machine's next window; suppressed: opened while muted), opened, who acknowledged
                  it and when, label and cause (pdm alerts)
  Muted machines  until when, by whom, why
  Gateways        each gateway's newest health report: when, outbox depth, age of its oldest
                  window, hours of cloud outage the outbox can still hold, and health: ok, or
                  "stale" (no report for longer than --stale-after), windows dropped (since the
                  gateway started), outbox full in under ${OUTBOX_HOURS_WARNING} h of outage

Options:
  --watch [SECONDS]     refresh every SECONDS (default ${DEFAULT_WATCH_SECONDS}) until Ctrl-C: in place on a terminal,
                        one block after another otherwise (with --json: one JSON object a line)
  --json                print the status as JSON instead of tables
  --stale-after DURATION a gateway with no health report for this long is stale (default 1m;
                        gateways report every health.intervalMs, 10s by default)
  --influx-url URL      InfluxDB the processor writes to (default: http://127.0.0.1:8086)
  --database NAME       its database (default: pdm)
  -h, --help            show this help`;

/** ANSI: cursor home, clear the screen. */
const CLEAR = '\u001b[H\u001b[2J';

export interface StatusOptions {
  influx: { url: string; database: string };
  staleAfterMs: number;
  json: boolean;
  /** Refresh interval; undefined: print once. */
  watchMs?: number;
  /** Refresh in place (clear the screen) instead of printing blocks one after another. */
  tty: boolean;
}

export const status: Command = {
  usage: USAGE,
  async run(args: string[], context: CommandContext): Promise<number> {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        watch: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'stale-after': { type: 'string', default: '1m' },
        'influx-url': { type: 'string', default: 'http://127.0.0.1:8086' },
        database: { type: 'string', default: 'pdm' },
      },
      strict: true,
    });
    // --watch takes an optional number of seconds, which parseArgs sees as a positional.
    const [seconds, ...extra] = positionals;
    if (extra.length > 0 || (seconds !== undefined && !values.watch)) throw new UsageError(`unexpected argument "${extra[0] ?? seconds}"`);
    const watchSeconds = seconds === undefined ? DEFAULT_WATCH_SECONDS : Number(seconds);
    if (!(watchSeconds > 0)) throw new UsageError(`--watch: "${seconds}" is not a number of seconds > 0`);
    let staleAfterMs: number;
    try {
      staleAfterMs = parseDuration(values['stale-after']);
    } catch (error) {
      throw new UsageError(`--stale-after: ${(error as Error).message}`);
    }
    const options: StatusOptions = {
      influx: { url: influxUrlFlag(values['influx-url']), database: values.database },
      staleAfterMs,
      json: values.json,
      ...(values.watch && { watchMs: watchSeconds * 1000 }),
      tty: process.stdout.isTTY === true,
    };
    return showStatus(options, context, systemClock);
  },
};

/** Prints the status once, or until the user stops a --watch; a failed refresh is told on stderr and retried. */
export async function showStatus(options: StatusOptions, context: CommandContext, clock: Clock): Promise<number> {
  const block = async () => {
    const fleet = await readFleetStatus(options.influx, clock, options.staleAfterMs);
    if (options.json) return [JSON.stringify(fleet, null, options.watchMs === undefined ? 2 : undefined)];
    return renderFleetStatus(fleet, `InfluxDB ${hidePassword(options.influx.url)}, database ${options.influx.database}`);
  };
  if (options.watchMs === undefined) {
    for (const line of await block()) context.out(line);
    return 0;
  }
  const stop = new AbortController();
  void context.waitForStop().then(() => stop.abort());
  for (let first = true; !stop.signal.aborted; first = false) {
    try {
      const lines = await block();
      if (options.tty) lines[0] = CLEAR + lines[0]!;
      else if (!first && !options.json) context.out('');
      for (const line of lines) context.out(line);
    } catch (error) {
      context.err(`pdm status: ${(error as Error).message}; trying again in ${options.watchMs / 1000}s`);
    }
    await sleep(clock, options.watchMs, stop.signal);
  }
  return 0;
}
