// Mistakes a user makes on the command line — a missing input file, a malformed URL, a registry that
// is not there — each answered by one line naming the flag and what is wrong, the command's usage and
// exit code 2, not a raw Node error and exit 1. No service runs: each is refused before one is asked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture } from './test-support/capture.js';

const dir = mkdtempSync(join(tmpdir(), 'pdm-user-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const missing = join(dir, 'missing.csv');

async function pdm(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { context, out, err } = capture();
  const code = await main(args, context);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('pdm refuses bad input with the flag it came from and exit code 2', () => {
  it('names an --input file that does not exist (train picking a window, replay)', async () => {
    for (const [command, ...args] of [['train', '--out', join(dir, 'model')], ['replay']] as const) {
      const { code, err } = await pdm(command, ...args, '--input', missing);
      expect(err).toMatch(new RegExp(`^pdm ${command}: --input: ${missing} does not exist\\n\\n(Usage: )?pdm ${command}`));
      expect(code).toBe(2);
    }
  });

  it('names an --influx-url that is not an http(s) URL (alerts, status, models, evaluate, train)', async () => {
    const commands = [
      ['alerts', 'list'],
      ['alerts', 'ack', 'a-1'],
      ['status'],
      ['models', 'list', '--registry', dir],
      ['models', 'promote', 'pump', '1', '--registry', dir],
      ['models', 'compare', '--serving', 'p@1', '--candidate', 'p@2', '--registry', dir],
      ['evaluate', '--from-influx'],
      ['train', '--from-influx', '--machine', 'pump-1', '--from', '2026-01-01T00:00:00Z', '--until', '2026-01-02T00:00:00Z', '--out', join(dir, 'model')],
    ];
    for (const args of commands) {
      const { code, err } = await pdm(...args, '--influx-url', 'notaurl');
      expect(err).toMatch(new RegExp(`^pdm ${args[0]}: --influx-url is not a URL: "notaurl"\\n\\n`));
      expect(code).toBe(2);
    }
    expect((await pdm('status', '--influx-url', 'ftp://host')).err).toMatch(/^pdm status: --influx-url must be http\(s\), got ftp:/);
    // A URL with a typo (the port) still carries the password: never printed.
    const typo = await pdm('status', '--influx-url', 'http://reader:s3cret@influxdb:80x6');
    expect(typo.err).toMatch(/^pdm status: --influx-url is not a URL: "http:\/\/reader:\(hidden\)@influxdb:80x6"\n\n/);
    expect(typo.err).not.toContain('s3cret');
  });

  it('says a --registry folder does not exist, and lists an empty one without asking InfluxDB for drift', async () => {
    const absent = join(dir, 'no-registry');
    const list = await pdm('models', 'list', '--registry', absent, '--influx-url', 'http://127.0.0.1:1');
    expect(list.err).toMatch(new RegExp(`^pdm models: --registry: ${absent} does not exist\\n\\n`));
    expect([list.code, list.out]).toEqual([2, '']);

    const empty = await pdm('models', 'list', '--registry', dir, '--influx-url', 'http://127.0.0.1:1');
    expect(empty).toEqual({ code: 0, out: `no models in ${dir}`, err: '' });
  });
});

describe('pdm help', () => {
  it('alerts, status and models list -h, --help, in lines under 100 characters', async () => {
    for (const command of ['alerts', 'status', 'models']) {
      const { code, out } = await pdm(command, '--help');
      expect(code).toBe(0);
      expect(out).toMatch(/^ {2}-h, --help {2,}show this help$/m);
      expect(out.split('\n').filter((line) => line.length > 100)).toEqual([]);
    }
  });

  it('evaluate lists every flag of its protocol half too, -h last', async () => {
    const { code, out } = await pdm('evaluate', '--help');
    expect(code).toBe(0);
    const protocolOptions = out.slice(out.lastIndexOf('Options:'));
    for (const flag of ['--protocol', '--from-influx', '--since', '--influx-url', '--database', '--json']) {
      expect(protocolOptions).toMatch(new RegExp(`^ {2}${flag} `, 'm'));
    }
    expect(out).toMatch(/\n {2}-h, --help {2,}show this help$/);
  });

  it('prints the usage after a bad flag of gateway and simulate, as the other commands do', async () => {
    for (const command of ['gateway', 'simulate']) {
      const { code, err } = await pdm(command, '--bogus');
      expect(err).toMatch(new RegExp(`^pdm ${command}: .*--bogus.*\\n\\n(Usage: )?pdm ${command}`, 's'));
      expect(code).toBe(2);
    }
  });
});
