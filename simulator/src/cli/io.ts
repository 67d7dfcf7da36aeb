// What a CLI function gets from the `pdm` command: output lines and the stop signal.
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM). */
  waitForStop(): Promise<NodeJS.Signals>;
}

/** Exit codes: 0 ok, 1 failure, 2 usage error (bad flag or config). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A bad flag value: the message starts with the flag. */
export class FlagError extends Error {
  constructor(flag: string, problem: string) {
    super(`${flag}: ${problem}`);
    this.name = 'FlagError';
  }
}

/** Runs a flag's parser and turns its RangeError into a FlagError naming the flag. */
export function flagValue<T>(flag: string, text: string | undefined, parse: (text: string) => T): T | undefined {
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    throw new FlagError(flag, (error as Error).message);
  }
}

export function oneOf<T extends string>(options: readonly T[]): (text: string) => T {
  return (text) => {
    if ((options as readonly string[]).includes(text)) return text as T;
    throw new RangeError(`expected one of ${options.join(', ')}, got "${text}"`);
  };
}

export function integerIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() !== '' && Number.isInteger(value) && value >= min && value <= max) return value;
    throw new RangeError(`expected an integer from ${min} to ${max}, got "${text}"`);
  };
}

export function numberIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() !== '' && Number.isFinite(value) && value >= min && value <= max) return value;
    throw new RangeError(`expected a number from ${min} to ${max}, got "${text}"`);
  };
}
