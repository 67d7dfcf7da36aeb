// The gateway's logger writes JSON lines, or readable ones (the format itself: @pdm/config log-format.test.ts).
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

describe('log format', () => {
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
});
