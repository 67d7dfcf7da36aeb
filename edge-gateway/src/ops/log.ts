// Logging: pino on standard output — JSON lines for machines, or readable lines for a person at a
// terminal (the line format is @pdm/config's, shared with the processor) — plus a limiter so a device
// spraying bad payloads produces one log line per reason every few seconds (with the count
// suppressed), not one per message.
import { type LogFormat, logDestination } from '@pdm/config';
import { pino, type Logger } from 'pino';

export type { Logger };

/** A pino logger writing JSON lines, or readable ones, to `output` (standard output unless told). */
export function createLogger(level: string, name = 'edge-gateway', format: LogFormat = 'json', output: { write(text: string): unknown } = process.stdout): Logger {
  return pino({ name, level }, logDestination(format, output));
}

export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** Calls `write(suppressedSinceLast)` at most once per interval for this key. */
  maybe(key: string, write: (suppressed: number) => void): void {
    const now = this.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    write(entry?.suppressed ?? 0);
    this.last.set(key, { at: now, suppressed: 0 });
  }
}
