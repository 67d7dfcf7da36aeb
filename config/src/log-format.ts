// The services' log.format key and their readable log lines: JSON lines for machines (jq, journald,
// log shippers), readable lines for a person at a terminal. Here, not in one service, so that the
// gateway and the processor read and print logs alike; it takes pino's JSON lines as text, so this
// package needs no logger of its own.
import { z } from 'zod';
import { ConfigError } from './load.js';

/** The log.format key: auto is pretty on a terminal and JSON otherwise. */
export const logFormatSchema = z.enum(['auto', 'json', 'pretty']);
export type LogFormat = 'json' | 'pretty';

/** A --log-format flag's value; a ConfigError naming the flag when it is none of the formats. */
export function logFormatFlag(value: string): z.infer<typeof logFormatSchema> {
  const parsed = logFormatSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`--log-format must be one of ${logFormatSchema.options.join(', ')} (got "${value}")`);
  return parsed.data;
}

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

/** A pino destination writing its JSON lines to `output` as they are, or as readable lines. */
export function logDestination(format: LogFormat, output: { write(text: string): unknown } = process.stdout): { write(line: string): void } {
  return format === 'json' ? { write: (line) => void output.write(line) } : { write: (line) => void output.write(prettyLogLine(line)) };
}
