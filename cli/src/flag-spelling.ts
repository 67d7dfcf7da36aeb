// One concept, one flag name across `pdm` commands (--out, --from/--until); the older spellings
// (--output, --start/--end) keep working so existing scripts do not break.
import { UsageError } from './command.js';

/** The value of a flag given by its name or by its old spelling; both at once is a mistake. */
export function eitherSpelling<V extends object>(values: V, name: keyof V & string, old: keyof V & string): string | undefined {
  const current = values[name] as string | undefined;
  const previous = values[old] as string | undefined;
  if (current !== undefined && previous !== undefined) throw new UsageError(`--${old} is the old spelling of --${name}: give one of them`);
  return current ?? previous;
}
