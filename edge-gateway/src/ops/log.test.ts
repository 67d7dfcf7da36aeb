// Log lines: JSON for machines, readable for a person at a terminal; which one `auto` picks.
import { describe, expect, it } from 'vitest';
import { createLogger, prettyLogLine, resolveLogFormat } from './log.js';

describe('log format', () => {
  it('auto is pretty on a terminal and JSON on anything else; json and pretty are taken as they are', () => {
    expect(resolveLogFormat('auto', { isTTY: true })).toBe('pretty');
    expect(resolveLogFormat('auto', {})).toBe('json');
    expect(resolveLogFormat('json', { isTTY: true })).toBe('json');
    expect(resolveLogFormat('pretty', {})).toBe('pretty');
  });

  it('writes one JSON object a line, or one readable line, to its output', () => {
    const lines: string[] = [];
    const output = { write: (text: string) => lines.push(text) };
    createLogger('info', 'edge-gateway', 'json', output).warn({ clientId: 'plc-1', reason: 'bad_credentials' }, 'connection refused');
    createLogger('info', 'edge-gateway', 'pretty', output).warn({ clientId: 'plc-1', reason: 'bad_credentials' }, 'connection refused');
    createLogger('info', 'edge-gateway', 'pretty', output).debug('below the level');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, name: 'edge-gateway', clientId: 'plc-1', reason: 'bad_credentials', msg: 'connection refused' });
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z WARN  connection refused clientId=plc-1 reason=bad_credentials\n$/);
  });

  it('shows the time in UTC, the level by name, and quotes values a space or quote would make ambiguous', () => {
    const line = JSON.stringify({ level: 50, time: Date.UTC(2026, 11, 6, 5, 30, 1, 250), pid: 7, hostname: 'h', name: 'edge-gateway', msg: 'cannot write the outbox; retrying', path: '/var/lib/pdm/outbox.sqlite', err: 'disk full', pending: 3, tls: true, where: { a: 1 } });
    expect(prettyLogLine(line)).toBe('05:30:01.250Z ERROR cannot write the outbox; retrying path=/var/lib/pdm/outbox.sqlite err="disk full" pending=3 tls=true where={"a":1}\n');
  });
});
