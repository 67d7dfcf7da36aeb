// Log lines: JSON for machines, readable for a person at a terminal; which one `auto` picks.
import { describe, expect, it } from 'vitest';
import { ConfigError } from './load.js';
import { logDestination, logFormatFlag, prettyLogLine, resolveLogFormat } from './log-format.js';

describe('log format', () => {
  it('auto is pretty on a terminal and JSON on anything else; json and pretty are taken as they are', () => {
    expect(resolveLogFormat('auto', { isTTY: true })).toBe('pretty');
    expect(resolveLogFormat('auto', {})).toBe('json');
    expect(resolveLogFormat('json', { isTTY: true })).toBe('json');
    expect(resolveLogFormat('pretty', {})).toBe('pretty');
  });

  it('takes a --log-format flag of one of the formats, and refuses another naming the flag', () => {
    expect(logFormatFlag('pretty')).toBe('pretty');
    expect(() => logFormatFlag('yaml')).toThrow(new ConfigError('--log-format must be one of auto, json, pretty (got "yaml")'));
  });

  it('shows the time in UTC, the level by name, and quotes values a space or quote would make ambiguous', () => {
    const line = JSON.stringify({ level: 50, time: Date.UTC(2026, 11, 6, 5, 30, 1, 250), pid: 7, hostname: 'h', name: 'edge-gateway', msg: 'cannot write the outbox; retrying', path: '/var/lib/pdm/outbox.sqlite', err: 'disk full', pending: 3, tls: true, where: { a: 1 } });
    expect(prettyLogLine(line)).toBe('05:30:01.250Z ERROR cannot write the outbox; retrying path=/var/lib/pdm/outbox.sqlite err="disk full" pending=3 tls=true where={"a":1}\n');
  });

  it('passes a JSON line through as it is, or writes it as a readable line', () => {
    const line = `${JSON.stringify({ level: 30, time: Date.UTC(2026, 11, 6, 6, 0, 0, 5), pid: 7, hostname: 'h', instance: 'processor-1', msg: 'processor started', httpPort: 9465 })}\n`;
    const written: string[] = [];
    const output = { write: (text: string) => written.push(text) };
    logDestination('json', output).write(line);
    logDestination('pretty', output).write(line);
    expect(written).toEqual([line, '06:00:00.005Z INFO  processor started instance=processor-1 httpPort=9465\n']);
  });
});
