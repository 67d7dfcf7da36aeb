import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DASHBOARDS } from './dashboards/index.js';
import { INFLUX_DATASOURCE_UID } from './datasource.js';
import { runDashboardsCli, type DashboardsCliIo } from './cli.js';

function capture(): DashboardsCliIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return {
    outLines,
    errLines,
    out: (line) => outLines.push(line),
    err: (line) => errLines.push(line),
    waitForStop: () => new Promise(() => {}),
  };
}

describe('pdm dashboards', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('writes the dashboards as built and provisioning that points at them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pdm-dashboards-'));
    dirs.push(dir);
    const io = capture();
    expect(await runDashboardsCli(['--out', dir, '--influx-url', 'http://influxdb:8086'], io)).toBe(0);
    expect(io.errLines).toEqual([]);
    expect((await readdir(join(dir, 'dashboards'))).sort()).toEqual(DASHBOARDS.map((d) => `${d.uid}.json`).sort());
    for (const spec of DASHBOARDS) {
      const written: unknown = JSON.parse(await readFile(join(dir, 'dashboards', `${spec.uid}.json`), 'utf8'));
      expect(written).toEqual(JSON.parse(JSON.stringify(spec.build())));
    }
    const datasource = parse(await readFile(join(dir, 'provisioning/datasources/pdm-influxdb.yaml'), 'utf8')) as { datasources: Record<string, unknown>[] };
    expect(datasource.datasources[0]).toMatchObject({ uid: INFLUX_DATASOURCE_UID, type: 'influxdb', url: 'http://influxdb:8086', jsonData: { version: 'InfluxQL', dbName: 'pdm' } });
    const provider = parse(await readFile(join(dir, 'provisioning/dashboards/pdm.yaml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] };
    expect(provider.providers[0]).toMatchObject({ type: 'file', options: { path: join(dir, 'dashboards') } });
    expect(io.outLines).toHaveLength(DASHBOARDS.length + 2);
  });

  it('uses --dashboards-path as the provider path (Grafana in a container)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pdm-dashboards-'));
    dirs.push(dir);
    expect(await runDashboardsCli(['--out', dir, '--dashboards-path', '/var/lib/grafana/dashboards/pdm'], capture())).toBe(0);
    const provider = parse(await readFile(join(dir, 'provisioning/dashboards/pdm.yaml'), 'utf8')) as { providers: { options: { path: string } }[] };
    expect(provider.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards/pdm');
  });

  it('without --influx-url writes a datasource at the local InfluxDB (pdm start’s)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pdm-dashboards-'));
    dirs.push(dir);
    expect(await runDashboardsCli(['--out', dir], capture())).toBe(0);
    const datasource = parse(await readFile(join(dir, 'provisioning/datasources/pdm-influxdb.yaml'), 'utf8')) as { datasources: Record<string, unknown>[] };
    expect(datasource.datasources[0]).toMatchObject({ url: 'http://127.0.0.1:8086', jsonData: { dbName: 'pdm', timeInterval: '10s' } });
  });

  it('writes --database and the credentials of --influx-url into the datasource, and never prints the password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pdm-dashboards-'));
    dirs.push(dir);
    const io = capture();
    // As every pdm command takes them: in the URL, percent-encoded (%40 is @). A $ is Grafana's
    // environment lookup in provisioning files: it must reach Grafana as the literal $$.
    const argv = ['--out', dir, '--influx-url', 'https://grafana%40plant:pa%24s%40w0rd@influxdb.plant.local:8086', '--database', 'plant_a'];
    expect(await runDashboardsCli(argv, io)).toBe(0);
    const yaml = await readFile(join(dir, 'provisioning/datasources/pdm-influxdb.yaml'), 'utf8');
    const datasource = parse(yaml) as { datasources: Record<string, unknown>[] };
    expect(datasource.datasources[0]).toMatchObject({
      url: 'https://influxdb.plant.local:8086',
      user: 'grafana@plant',
      jsonData: { version: 'InfluxQL', dbName: 'plant_a' },
      secureJsonData: { password: 'pa$$s@w0rd' },
    });
    // Its last letters, in the URL's spelling and in the datasource's.
    expect([...io.outLines, ...io.errLines].join('\n')).not.toContain('w0rd');
    expect(io.outLines).toHaveLength(DASHBOARDS.length + 2);
  });

  it('never prints the password of an --influx-url it refuses', async () => {
    for (const url of ['http://grafana:s3cret@influxdb:99999', 'http://grafana:s3c@ret@influxdb:99999/x', '//grafana:s3cret@influx db:8086']) {
      const io = capture();
      expect(await runDashboardsCli(['--out', '/tmp/x', '--influx-url', url], io), url).toBe(2);
      expect(io.errLines.join('\n'), url).toMatch(/^pdm dashboards: --influx-url is not a URL: ".*\(hidden\)@/);
      expect(io.errLines.join('\n'), url).not.toMatch(/s3c|ret/);
    }
  });

  it('prints help and exits 0', async () => {
    const io = capture();
    expect(await runDashboardsCli(['--help'], io)).toBe(0);
    expect(io.outLines.join('\n')).toContain('pdm dashboards --out DIR');
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [[], /--out DIR is required/],
    [['--out', '/tmp/x', '--influx-url', 'not a url'], /--influx-url is not a URL/],
    [['--out', '/tmp/x', '--influx-url', 'ftp://db'], /--influx-url must be http\(s\), got ftp:/],
    [['--out', '/tmp/x', '--influx-url', 'http://grafana:100%@db:8086'], /--influx-url: write a % in its user or password as %25/],
    [['--out', '/tmp/x', '--database', ''], /--database needs a name/],
  ])('exits 2 with a message naming the problem for %j', async (argv, message) => {
    const io = capture();
    expect(await runDashboardsCli(argv, io)).toBe(2);
    expect(io.errLines.join('\n')).toMatch(message);
  });

  it('exits 1 when the folder cannot be written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pdm-dashboards-'));
    dirs.push(dir);
    const io = capture();
    // A file where the output folder should be.
    await writeFile(join(dir, 'file'), 'x');
    expect(await runDashboardsCli(['--out', join(dir, 'file')], io)).toBe(1);
    expect(io.errLines.join('\n')).toMatch(/could not write to/);
  });
});
