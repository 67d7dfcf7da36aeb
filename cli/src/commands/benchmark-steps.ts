// The steps every `pdm benchmark` takes, whatever its data: a pdm command run in-process as a user
// would run it (its output kept, not printed), `pdm train` then `pdm score`, and the progress line.
import type { Command, CommandContext } from '../command.js';
import { score } from './score.js';
import { train } from './train.js';

export interface CommandRun {
  ok: boolean;
  /** What the command printed, out and err interleaved; on a throw, its message last. */
  lines: string[];
}

/**
 * Runs a pdm command module with these arguments and keeps what it prints: a benchmark of dozens of
 * runs reports one line per run, and the output of a failed one names why.
 */
export async function runQuietly(command: Command, args: string[]): Promise<CommandRun> {
  const lines: string[] = [];
  const quiet: CommandContext = { out: (l) => lines.push(l), err: (l) => lines.push(l), waitForStop: () => new Promise(() => {}) };
  try {
    return { ok: (await command.run(args, quiet)) === 0, lines };
  } catch (error) {
    return { ok: false, lines: [...lines, (error as Error).message] };
  }
}

export interface TrainedAndScored {
  /** Why there are no scores, when training or scoring failed. */
  failure?: string;
  /** "N windows scored, M anomalous", for the progress line. */
  summary: string;
}

/** `pdm train` with trainArgs, then `pdm score` with scoreArgs (which name the model train wrote). */
export async function trainThenScore(trainArgs: string[], scoreArgs: string[]): Promise<TrainedAndScored> {
  const trained = await runQuietly(train, trainArgs);
  if (!trained.ok) return { failure: `pdm train failed: ${trained.lines.at(-1) ?? 'no output'}`, summary: 'train failed' };
  const scored = await runQuietly(score, scoreArgs);
  if (!scored.ok) return { failure: `pdm score failed: ${scored.lines.at(-1) ?? 'no output'}`, summary: 'score failed' };
  const scoredLine = scored.lines.find((l) => l.startsWith('scored ')) ?? '';
  const counts = /^scored (\d+) windows .*: (\d+) anomalous/.exec(scoredLine);
  return { summary: counts ? `${counts[1]} windows scored, ${counts[2]} anomalous` : scoredLine };
}

/** How a detector was trained, for the line above a table: "default flags" or "pdm train --kind …". */
export function flagsText(trainFlags: readonly string[]): string {
  return trainFlags.length === 0 ? 'default flags' : `pdm train ${trainFlags.join(' ')}`;
}

/** "benchmark: [3/8] what: summary (12.3 s)" on stderr, timed from `started` (performance.now()). */
export function progress(context: CommandContext, index: number, total: number, what: string, started: number, summary: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  context.err(`benchmark: [${index + 1}/${total}] ${what}: ${summary} (${seconds} s)`);
}
