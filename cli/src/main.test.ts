import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { describe, expect, it } from 'vitest';
import type { CommandContext } from './command.js';
import { main } from './main.js';

function capture(waitForStop: CommandContext['waitForStop'] = () => new Promise(() => {})) {
  const out: string[] = [];
  const err: string[] = [];
  const context: CommandContext = { out: (l) => out.push(l), err: (l) => err.push(l), waitForStop };
  return { context, out, err };
}

describe('pdm', () => {
  it('lists its commands with --help', async () => {
    const { context, out } = capture();
    expect(await main(['--help'], context)).toBe(0);
    expect(out.join('\n')).toMatch(/Usage: pdm <command>/);
    expect(out.join('\n')).toMatch(/start\s+run the local stack/);
  });

  it('rejects an unknown command with exit code 2 and the usage', async () => {
    const { context, err } = capture();
    expect(await main(['frobnicate'], context)).toBe(2);
    expect(err.join('\n')).toMatch(/unknown command "frobnicate"/);
  });

  it('shows a command’s own help', async () => {
    const { context, out } = capture();
    expect(await main(['start', '--help'], context)).toBe(0);
    expect(out.join('\n')).toMatch(/--influx-port PORT/);
  });

  it('names the bad flag', async () => {
    const { context, err } = capture();
    expect(await main(['start', '--influx-port', 'abc'], context)).toBe(2);
    expect(err.join('\n')).toMatch(/--influx-port must be a port number, got "abc"/);
    expect(await main(['start', '--bogus'], context)).toBe(2);
    expect(err.join('\n')).toMatch(/--bogus/);
  });
});

describe('pdm start', () => {
  it('runs InfluxDB in the data folder, says what is not built yet, and stops cleanly on a signal', async () => {
    const dataDir = makeTestDataDir('pdm-start');
    let stop!: (signal: NodeJS.Signals) => void;
    const stopped = new Promise<NodeJS.Signals>((resolve) => (stop = resolve));
    let ready!: () => void;
    const waiting = new Promise<void>((resolve) => (ready = resolve));
    const { context, out } = capture(() => {
      ready();
      return stopped;
    });

    const exit = main(['start', '--data-dir', dataDir, '--influx-port', '0'], context);
    await waiting;
    const url = /InfluxDB\s+(http:\/\/\S+)/.exec(out.join('\n'))?.[1];
    expect(url).toBeDefined();
    expect((await fetch(`${url}/ping`)).status).toBe(204);
    expect(out.join('\n')).toMatch(/Not built yet/);

    stop('SIGINT');
    expect(await exit).toBe(0);
    expect(out.at(-1)).toBe('stopped cleanly.');
    await expect(fetch(`${url}/ping`)).rejects.toThrow();
    // State stays for the next start.
    expect(existsSync(join(dataDir, 'influxdb', 'meta'))).toBe(true);
  });
});
