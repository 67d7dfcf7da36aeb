import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { join } from 'node:path';
import { InfluxDB, FieldType } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InfluxdNotFoundError,
  InfluxdStartError,
  type RunningInflux,
  freePort,
  locateInfluxd,
  makeTestDataDir,
  startInflux,
  startTestInflux,
  uniqueDatabaseName,
} from './index.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a running influxd', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(() => influx.stop());

  it('accepts points from the influx client and answers InfluxQL with them', async () => {
    const database = uniqueDatabaseName();
    await influx.createDatabase(database);
    const client = new InfluxDB({
      host: influx.host,
      port: influx.port,
      database,
      schema: [{ measurement: 'sensor_features', tags: ['machine', 'sensor'], fields: { mean: FieldType.FLOAT, count: FieldType.INTEGER } }],
    });
    await client.writePoints([
      { measurement: 'sensor_features', tags: { machine: 'pump-1', sensor: 'temp' }, fields: { mean: 61.5, count: 10 }, timestamp: new Date(1_764_000_000_000) },
      { measurement: 'sensor_features', tags: { machine: 'pump-1', sensor: 'temp' }, fields: { mean: 62.5, count: 10 }, timestamp: new Date(1_764_000_010_000) },
      { measurement: 'sensor_features', tags: { machine: 'pump-2', sensor: 'temp' }, fields: { mean: 40, count: 9 }, timestamp: new Date(1_764_000_000_000) },
    ]);

    const rows = await client.query<{ mean: number; count: number }>(
      `SELECT mean, "count" FROM sensor_features WHERE machine = 'pump-1' ORDER BY time ASC`,
    );
    expect(rows.map((r) => [r.mean, r.count])).toEqual([
      [61.5, 10],
      [62.5, 10],
    ]);
    const perMachine = await influx.query('SELECT MEAN(mean) FROM sensor_features GROUP BY machine', database);
    const series = perMachine.results[0]?.series ?? [];
    expect(series.map((s) => [s.tags?.machine, s.values[0]?.[1]])).toEqual([
      ['pump-1', 62],
      ['pump-2', 40],
    ]);
  });

  it('gives each test its own database', async () => {
    const a = uniqueDatabaseName();
    const b = uniqueDatabaseName();
    expect(a).not.toBe(b);
    await influx.createDatabase(a);
    await influx.createDatabase(b);
    const shown = await influx.query('SHOW DATABASES');
    const names = shown.results[0]?.series?.[0]?.values.map((v) => v[0]);
    expect(names).toEqual(expect.arrayContaining([a, b]));
  });

  it('reports an InfluxQL error with the statement', async () => {
    await expect(influx.query('SELECT FROM nowhere')).rejects.toThrow(/SELECT FROM nowhere/);
  });

  it('keeps its state in the data folder it was given', () => {
    for (const dir of ['meta', 'data', 'wal']) expect(existsSync(join(influx.dataDir, dir))).toBe(true);
    expect(readFileSync(join(influx.dataDir, 'influxd.pid'), 'utf8')).toBe(`${influx.pid} ${process.pid}`); // its influxd and the run that started it
  });
});

/** The process group of `pid`, as ps reports it. */
function processGroupOf(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
}

describe('influxd lifecycle', () => {
  it("runs in the caller's process group, or in one of its own where a terminal's Ctrl-C must not reach it", async () => {
    const ours = processGroupOf(process.pid);
    const shared = await startTestInflux();
    const own = await startInflux({ dataDir: makeTestDataDir('influxdb-own-group'), ephemeral: true, ownProcessGroup: true });
    try {
      expect(processGroupOf(shared.pid)).toBe(ours);
      expect(processGroupOf(own.pid)).toBe(own.pid);
      expect(processGroupOf(own.pid)).not.toBe(ours);
    } finally {
      await shared.stop();
      await own.stop();
    }
    expect(isAlive(own.pid)).toBe(false);
  });

  it('stops cleanly: the process is gone, the port is free and an ephemeral folder is removed', async () => {
    const influx = await startTestInflux();
    expect(isAlive(influx.pid)).toBe(true);
    await influx.stop();
    await influx.stop(); // idempotent
    expect(isAlive(influx.pid)).toBe(false);
    expect(existsSync(influx.dataDir)).toBe(false);
    await expect(fetch(`${influx.url}/ping`)).rejects.toThrow();
  });

  it('reaps an influxd orphaned on the same data folder by a run that died', async () => {
    const dataDir = makeTestDataDir('influxdb-orphan');
    const orphan = await startInflux({ dataDir });
    // The first handle is "lost" as if its test process had crashed; a new start must reap it.
    const fresh = await startInflux({ dataDir, ephemeral: true });
    try {
      expect(isAlive(orphan.pid)).toBe(false);
      expect(isAlive(fresh.pid)).toBe(true);
    } finally {
      await fresh.stop();
    }
  });

  it('refuses a data folder whose influxd belongs to another run still going, and kills nothing', async () => {
    const dataDir = makeTestDataDir('influxdb-in-use');
    const first = await startInflux({ dataDir });
    // The pidfile as another live run (a node process) would have left it.
    const otherRun = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dataDir, 'influxd.pid'), `${first.pid} ${otherRun.pid}`);
      await expect(startInflux({ dataDir })).rejects.toThrow(new RegExp(`in use: its influxd \\(pid ${first.pid}\\) belongs to a run still going \\(pid ${otherRun.pid}\\)`));
      expect(isAlive(first.pid)).toBe(true);
    } finally {
      otherRun.kill('SIGKILL');
      await first.stop();
    }
  });

  it('refuses a port another program listens on, naming it, before influxd starts: another InfluxDB answering /ping there is not taken for it', async () => {
    // A server that answers /ping like an InfluxDB: without the check its answer looked like ours.
    const impostor = createHttpServer((_req, res) => res.writeHead(204).end());
    const port = await freePort();
    await new Promise<void>((resolve) => impostor.listen(port, '127.0.0.1', resolve));
    try {
      const dataDir = makeTestDataDir('influxdb-busy');
      const start = startInflux({ dataDir, port, ephemeral: true });
      await expect(start).rejects.toThrow(InfluxdStartError);
      await expect(start).rejects.toThrow(`port ${port} is already in use by another program`);
      await expect(start).rejects.toMatchObject({ code: 'EADDRINUSE', port });
    } finally {
      impostor.close();
    }
  });
});

describe('locating influxd', () => {
  it('says exactly how to install it when it cannot be found', () => {
    const saved = process.env.INFLUXD_PATH;
    process.env.INFLUXD_PATH = '/nonexistent/influxd';
    try {
      expect(() => locateInfluxd({ autoInstall: false })).toThrow(InfluxdNotFoundError);
      expect(() => locateInfluxd({ autoInstall: false })).toThrow(/apt-get install -y influxdb influxdb-client/);
    } finally {
      if (saved === undefined) delete process.env.INFLUXD_PATH;
      else process.env.INFLUXD_PATH = saved;
    }
  });
});
