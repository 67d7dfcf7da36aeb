// Logging: pino, plus a limiter so a device spraying bad payloads produces one log line per reason
// every few seconds (with the count suppressed), not one per message.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'edge-gateway'): Logger {
  return pino({ name, level });
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
