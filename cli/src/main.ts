// Entry point of the `pdm` command: dispatches to one sub-command module, turns user mistakes into a
// one-line message with exit code 2, and wires Ctrl-C to a graceful stop.
import { type Command, type CommandContext, UsageError } from './command.js';

type Loader = () => Promise<Command>;

const COMMANDS: Record<string, Loader> = {
  start: async () => (await import('./commands/start.js')).start,
};

async function usage(): Promise<string> {
  const lines = ['Usage: pdm <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`);
  lines.push('', 'Run `pdm <command> --help` for the options of one command.');
  return lines.join('\n');
}

/** Resolves on the first SIGINT/SIGTERM; until called, Ctrl-C keeps its default (exit at once). */
function signalPromise(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
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
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    context.out(await usage());
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    context.err(`pdm: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    context.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, context);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      context.err(`pdm ${name}: ${(error as Error).message}\n\n${command.usage}`);
      return 2;
    }
    context.err(`pdm ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
