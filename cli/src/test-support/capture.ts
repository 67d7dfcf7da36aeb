import type { CommandContext } from '../command.js';

/** A command context that records what a command prints; by default it is never asked to stop. */
export function capture(waitForStop: CommandContext['waitForStop'] = () => new Promise(() => {})): { context: CommandContext; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { context: { out: (l) => out.push(l), err: (l) => err.push(l), waitForStop }, out, err };
}
