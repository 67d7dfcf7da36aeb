// The shape every `pdm` sub-command has; each lives in its own module under commands/ and is loaded
// only when run, so `pdm --help` stays fast and never loads TensorFlow or gRPC.

export interface CommandContext {
  /** Human-facing output (progress, results). */
  out: (line: string) => void;
  /** Errors and warnings. */
  err: (line: string) => void;
  /**
   * Takes over Ctrl-C: resolves when the user asks to stop, by one of `signals` (default STOP_SIGNALS).
   * For long-running commands.
   */
  waitForStop: (signals?: readonly NodeJS.Signals[]) => Promise<NodeJS.Signals>;
}

/** The signals that ask a long-running command to stop. (SIGHUP reloads the gateway's files.) */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface Command {
  usage: string;
  /** Returns the process exit code. */
  run(args: string[], context: CommandContext): Promise<number>;
}

/** A user mistake (bad flag, bad file): printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A TypeError or ReferenceError is a fault of ours, never of the user's files: not to be blamed on them. */
export const isOurFault = (error: unknown): boolean => error instanceof TypeError || error instanceof ReferenceError;

/**
 * A mistake in the content of the user's files, not in the flags (a malformed row, rows out of
 * order): exit code 2 like a UsageError, but printed alone, since the usage says nothing about it.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}
