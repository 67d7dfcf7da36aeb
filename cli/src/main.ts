// Entry point of the `pdm` command: dispatches to one sub-command module, turns user mistakes into a
// one-line message with exit code 2, and wires Ctrl-C to a graceful stop.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { type Command, type CommandContext, InputError, STOP_SIGNALS, UsageError } from './command.js';

interface Entry {
  summary: string;
  /** Loaded only when the command runs, so `pdm --help` never loads TensorFlow, gRPC or aedes. */
  load: () => Promise<Command>;
  /**
   * Whether these arguments run a service, until stopped: the stop signals are then taken before its
   * code loads, which takes seconds (the processor's NestJS and TensorFlow), so a stop meanwhile is not
   * lost — without a handler a SIGTERM kills at once, and node as a container's PID 1 ignores it. The
   * command's waitForStop() is that same stop. Not for what ends by itself (`pdm gateway hash-password`
   * reads stdin: Ctrl-C must end it as before).
   */
  service?: (args: readonly string[]) => boolean;
}

const COMMANDS: Record<string, Entry> = {
  start: {
    summary: 'run the whole system locally with embedded defaults, until Ctrl-C',
    load: async () => (await import('./commands/start.js')).start,
  },
  gateway: {
    summary: 'run an edge gateway (MQTT broker → windows → outbox → Pub/Sub)',
    load: async () => (await import('./commands/gateway.js')).gateway,
    service: (args) => args[0] !== 'hash-password',
  },
  processor: {
    summary: 'run the cloud processor (Pub/Sub → score with TF.js → InfluxDB, alerts)',
    load: async () => (await import('./commands/processor.js')).processor,
    service: () => true,
  },
  simulate: {
    summary: 'drive a simulated machine fleet with labelled faults (MQTT or CSV files)',
    load: async () => (await import('./commands/simulator.js')).simulate,
  },
  train: {
    summary: 'train an anomaly model from a CSV of normal operation (or stored features)',
    load: async () => (await import('./commands/train.js')).train,
  },
  score: {
    summary: 'score a CSV with a trained model into scores.csv',
    load: async () => (await import('./commands/score.js')).score,
  },
  evaluate: {
    summary: 'measure detection: against a simulation (lead time, precision, recall) or the SKAB/NAB protocols',
    load: async () => (await import('./commands/evaluate.js')).evaluate,
  },
  benchmark: {
    summary: 'run the SKAB, NAB or simulated-fleet benchmark end to end through pdm train and pdm score',
    load: async () => (await import('./commands/benchmark.js')).benchmark,
  },
  alerts: {
    summary: 'list alerts; acknowledge, resolve by hand, label; mute a machine for maintenance',
    load: async () => (await import('./commands/alerts.js')).alerts,
  },
  status: {
    summary: 'the fleet from InfluxDB: last scores, open alerts, mutes, gateways; --watch refreshes',
    load: async () => (await import('./commands/status.js')).status,
  },
  models: {
    summary: 'the model registry: list versions; shadow, promote, roll back, roll out a model version',
    load: async () => (await import('./commands/models.js')).models,
  },
  dashboards: {
    summary: 'write the Grafana dashboards and provisioning files for InfluxDB',
    load: async () => (await import('./commands/dashboards.js')).dashboards,
  },
  replay: {
    summary: 'replay a CSV through the window engine; write JSON lines or publish to Pub/Sub',
    load: async () => (await import('./commands/replay.js')).replay,
  },
  'pubsub-emulator': {
    summary: 'run the local Pub/Sub emulator (real gRPC API)',
    load: async () => (await import('./commands/pubsub-emulator.js')).pubsubEmulator,
  },
};

function usage(): string {
  const lines = ['Usage: pdm <command> [options]', '', 'Commands:'];
  for (const [name, { summary }] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(16)} ${summary}`);
  lines.push('', 'Run `pdm <command> --help` for the options of one command.');
  return lines.join('\n');
}

/** The cli package's version; `../package.json` is the same file from src/ (tests) and dist/ (installed). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * Resolves on the first of `signals`; until called, they keep their default (exit at once). Another
 * one while the command stops exits at once, as an impatient second Ctrl-C expects — through
 * process.exit, so the exit hooks run (they kill the influxd `pdm start` runs), which a signal's
 * default would skip.
 */
function signalPromise(signals: readonly NodeJS.Signals[] = STOP_SIGNALS): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        console.error(`${signal} while stopping: exiting at once`);
        process.exit(128 + (constants.signals[signal] ?? 0));
      }
      stopping = true;
      resolve(signal);
    };
    for (const signal of signals) process.on(signal, onSignal);
  });
}

function defaultContext(): CommandContext {
  return {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    waitForStop: signalPromise,
  };
}

/** Runs `pdm` with the given arguments and returns the exit code. */
export async function main(argv: string[], context: CommandContext = defaultContext()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // No command is a usage mistake: the usage goes to stderr so `pdm | …` pipes nothing.
    context.err(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    context.out(usage());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    context.out(version());
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    context.err(`pdm: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const commandContext = entry.service?.(rest) ? withStopTakenNow(context) : context;
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    context.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, commandContext);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      context.err(`pdm ${name}: ${(error as Error).message}\n\n${command.usage}`);
      return 2;
    }
    if (error instanceof InputError) {
      context.err(`pdm ${name}: ${error.message}`);
      return 2;
    }
    context.err(`pdm ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** `context` whose waitForStop() (the default signals) is a stop taken now, before the command loads. */
function withStopTakenNow(context: CommandContext): CommandContext {
  const stop = context.waitForStop();
  return { ...context, waitForStop: (signals) => (signals === undefined ? stop : context.waitForStop(signals)) };
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
