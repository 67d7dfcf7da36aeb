// Adapts a package's own CLI function (`run*Cli(argv, io)`) to a `pdm` sub-command, so each package
// owns its flags and help text and the `pdm` command only dispatches.
import type { Command, CommandContext } from '../command.js';

type PackageCli = (argv: string[], io: CommandContext) => Promise<number>;

export function delegate(usage: string, run: PackageCli): Command {
  return { usage, run: (args, context) => run(args, context) };
}
