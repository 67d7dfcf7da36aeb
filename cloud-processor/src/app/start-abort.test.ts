// A start aborted (deps.signal: `pdm processor` asked to stop while it starts) ends before the
// processor pulls a message, however late in the start the abort comes, and leaves nothing open.
import { freePort, listening } from '@pdm/influx-harness';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { useProcessorTestbeds } from '../test-support/processor-testbed.js';
import { makeWindow } from '../test-support/windows.js';

describe('an aborted processor start', () => {
  const testbed = useProcessorTestbeds();

  it('ends at its last step before pulling, the HTTP app and the subscription left closed', async () => {
    const t = await testbed();
    await t.bed.publishWindow(makeWindow()); // there to be pulled, if the processor pulled
    const port = await freePort();
    // Aborted once NestJS begins to build the app: every slow step (InfluxDB, models) is behind it.
    const abort = new AbortController();
    const messages: string[] = [];
    const logger = pino(
      { level: 'info' },
      {
        write(line: string) {
          const { msg, component } = JSON.parse(line) as { msg: string; component?: string };
          messages.push(msg);
          if (component === 'nest') abort.abort(new Error('stop asked during the start'));
        },
      },
    );
    await expect(t.start({ http: { host: '127.0.0.1', port } }, { logger, signal: abort.signal })).rejects.toThrow('stop asked during the start');
    expect(messages).toContain('Starting Nest application...');
    expect(messages).not.toContain('processor started');
    expect(await listening(port), 'the ops HTTP port is open').toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 500)); // time for a pull, had one begun
    expect(t.bed.stats().delivered, 'messages pulled').toBe(0);
  });
});
