// `pdm dashboards` as the pdm command runs it: InfluxDB named by the same flags as the other commands
// take (--influx-url with its credentials, --database), the password never printed, and help and
// mistakes in the form every command follows (user-errors.test.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { capture } from '../test-support/capture.js';

const dir = mkdtempSync(join(tmpdir(), 'pdm-dashboards-command-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pdm(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { context, out, err } = capture();
  const code = await main(args, context);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('pdm dashboards', () => {
  it('provisions the datasource with --database and the user and password of --influx-url, printing no password', async () => {
    const out = join(dir, 'grafana');
    const run = await pdm('dashboards', '--out', out, '--influx-url', 'http://grafana:s3cret-pw@influxdb:8086', '--database', 'plant_a');
    expect([run.code, run.err]).toEqual([0, '']);
    expect(run.out).toContain(join(out, 'provisioning/datasources/pdm-influxdb.yaml'));
    expect(run.out).not.toContain('s3cret-pw');
    const datasource = readFileSync(join(out, 'provisioning/datasources/pdm-influxdb.yaml'), 'utf8');
    expect(datasource).toMatch(/^ {4}url: http:\/\/influxdb:8086$/m);
    expect(datasource).toMatch(/^ {4}user: grafana$/m);
    expect(datasource).toMatch(/^ {6}dbName: plant_a$/m);
    expect(datasource).toMatch(/^ {4}secureJsonData:\n {6}password: s3cret-pw$/m);
  });

  it('names a bad --influx-url, its password hidden, then the usage; exit 2', async () => {
    const { code, err } = await pdm('dashboards', '--out', dir, '--influx-url', 'http://grafana:s3cret-pw@influxdb:99999');
    expect(err).toMatch(/^pdm dashboards: --influx-url is not a URL: "http:\/\/grafana:\(hidden\)@influxdb:99999"\n\n(Usage: )?pdm dashboards/);
    expect(err).not.toContain('s3cret-pw');
    expect(code).toBe(2);
  });

  it('documents --influx-url with its credentials and --database in -h, --help, in lines under 100 characters', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, out } = await pdm('dashboards', flag);
      expect(code).toBe(0);
      expect(out).toMatch(/^pdm dashboards --out DIR \[--influx-url URL\] \[--database NAME\]/);
      expect(out).toMatch(/^ {2}--influx-url URL {2,}\S/m);
      expect(out).toContain('http://USER:PASSWORD@host:8086');
      expect(out).toMatch(/^ {2}--database NAME {2,}.*\(default: pdm\)$/m);
      expect(out).toMatch(/\n {2}-h, --help {2,}show this help$/);
      expect(out.split('\n').filter((line) => line.length > 100)).toEqual([]);
    }
  });
});
