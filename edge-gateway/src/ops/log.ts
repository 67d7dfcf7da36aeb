// Logging: pino on standard output — JSON lines for machines, or readable lines for a person at a
// terminal — plus a limiter so a device spraying bad payloads produces one log line per reason every
// few seconds (with the count suppressed), not one per message.
import { pino, type Logger } from 'pino';
import { z } from 'zod';

export type { Logger };

/** The log.format key: auto is pretty on a terminal and JSON otherwise. */
export const logFormatSchema = z.enum(['auto', 'json', 'pretty']);
export type LogFormat = 'json' | 'pretty';

/** The format `auto` means for this output: pretty for a person at a terminal, JSON for a pipe, a file or journald. */
export function resolveLogFormat(format: z.infer<typeof logFormatSchema>, output: { isTTY?: boolean } = process.stdout): LogFormat {
  if (format !== 'auto') return format;
  return output.isTTY === true ? 'pretty' : 'json';
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A key=value of a readable line: strings as they are unless they hold a space, quote or '=', the rest as JSON. */
function field(key: string, value: unknown): string {
  const text = typeof value === 'string' && !/[\s"=]/.test(value) && value !== '' ? value : JSON.stringify(value);
  return `${key}=${text}`;
}

/**
 * One pino JSON line as a person reads it: "12:00:00.000Z INFO  gateway started mqttPort=1883 …"
 * (UTC time, level, message, then the other fields; pid, hostname and the logger name left out).
 */
export function prettyLogLine(json: string): string {
  const { time, level, msg, pid: _pid, hostname: _hostname, name: _name, ...fields } = JSON.parse(json) as Record<string, unknown>;
  const at = typeof time === 'number' ? new Date(time).toISOString().slice(11) : '';
  const levelName = (typeof level === 'number' ? LEVEL_NAMES[level] : undefined) ?? String(level);
  const rest = Object.entries(fields).filter(([, value]) => value !== undefined).map(([key, value]) => field(key, value));
  return `${[at, levelName.padEnd(5), typeof msg === 'string' ? msg : '', ...rest].filter((part) => part !== '').join(' ')}\n`;
}

/** A pino logger writing JSON lines, or readable ones, to `output` (standard output unless told). */
export function createLogger(level: string, name = 'edge-gateway', format: LogFormat = 'json', output: { write(text: string): unknown } = process.stdout): Logger {
  const write = format === 'json' ? (line: string) => output.write(line) : (line: string) => output.write(prettyLogLine(line));
  return pino({ name, level }, { write });
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
