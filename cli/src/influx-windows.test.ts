// `pdm train --from-influx` against real influxd 1.x: one machine's windows at one site (--site),
// every row of the range however InfluxDB limits a query's answer, an answer cut short refused, and
// the credentials of an InfluxDB with authentication on taken from --influx-url.
import { createServer, request, type Server } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor';
import { replayCsv } from '@pdm/edge-gateway';
import { freePort, makeTestDataDir, startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture } from './test-support/capture.js';

const dir = makeTestDataDir('pdm-influx-windows');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 1 Hz recording of four sensors, `rows` long from `start`. */
function pumpCsv(file: string, start: number, rows: number, level: number): void {
  const lines = ['time,load,current,temp,vibration'];
  for (let i = 0; i < rows; i++) {
    const load = 0.7 + 0.2 * Math.sin((2 * Math.PI * i) / 600) + 0.01 * Math.sin(i * 1.7);
    lines.push(`${new Date(start + i * 1000).toISOString()},${load.toFixed(4)},${(40 * load).toFixed(3)},${(level + 20 * load).toFixed(3)},${(2 + 0.5 * load).toFixed(3)}`);
  }
  writeFileSync(file, lines.join('\n'));
}

/** Stores a recording's windows as the processor does, as those of `machine` at `site`. */
async function store(sink: InfluxSink, machine: string, site: string, start: number, rows: number, level = 35): Promise<void> {
  const csv = join(dir, `${machine}-${site}-${start}.csv`);
  pumpCsv(csv, start, rows, level);
  await replayCsv(csv, { machineId: machine }, {
    onWindow: (w) => {
      w.siteId = site;
      return sink.writeScoredWindow(w, undefined);
    },
  });
  await sink.flush();
}

async function pdm(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { context, out, err } = capture();
  const code = await main(args, context);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

// Recent data: the processor's raw retention policy refuses points older than 30 days.
const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('pdm train --from-influx', () => {
  // A max-row-limit far below the rows read: an answer it cut would look whole but for a flag.
  let influx: RunningInflux;
  const database = uniqueDatabaseName();
  const range = (fromS: number, untilS: number) => ['--from', iso(t0 + fromS * 1000), '--until', iso(t0 + untilS * 1000)];
  const train = (...args: string[]) => pdm('train', '--from-influx', '--influx-url', influx.url, '--database', database, ...args);

  beforeAll(async () => {
    influx = await startTestInflux({ INFLUXDB_HTTP_MAX_ROW_LIMIT: '100' });
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 0 });
    await sink.start();
    // pump-1 at plant-a for 900 s (90 windows); another pump-1, at plant-b, from 300 s for 600 s (60 windows).
    await store(sink, 'pump-1', 'plant-a', t0, 900);
    await store(sink, 'pump-1', 'plant-b', t0 + 300_000, 600, 50);
    await store(sink, 'pump-9', 'plant-a', t0, 900);
  });
  afterAll(() => influx?.stop());

  it('documents --site and the credentials in --influx-url in pdm train --help', async () => {
    const { code, out } = await pdm('train', '--help');
    expect(out).toMatch(/^pdm train --from-influx --machine ID \[--machine ID …\] \[--site ID\] --from T/m);
    expect(out).toMatch(/^ {2}--site ID {13}the machine's site for --from-influx \(default: its only site between\n {24}--from and --until; a machine id with windows at several sites is refused\)$/m);
    expect(out).toMatch(/^ {24}authentication on, its user and password: http:\/\/USER:PASSWORD@host:8086$/m);
    expect(code).toBe(0);
  });

  it('refuses a machine id with windows at two sites in the range, naming them and --site', async () => {
    const { code, err } = await train('--machine', 'pump-1', ...range(0, 3600), '--out', join(dir, 'mixed'));
    expect(err).toMatch(new RegExp(`^pdm train: machine "pump-1" has windows at 2 sites between ${iso(t0)} and ${iso(t0 + 3_600_000)} \\(plant-a, plant-b\\): give --site ID to train on one of them\\n\\n`));
    expect(code).toBe(2);
  });

  it('trains on the windows of one site with --site, and without it when the range holds one site', async () => {
    const b = await train('--machine', 'pump-1', '--site', 'plant-b', ...range(0, 3600), '--out', join(dir, 'plant-b'));
    expect(b.err).toMatch(new RegExp(`train: 60 windows of pump-1 at plant-b from ${influx.url}/${database}\\n`));
    expect(b.code).toBe(0);
    // Before 300 s only plant-a's pump-1 has windows: no --site needed.
    const a = await train('--machine', 'pump-1', ...range(0, 300), '--out', join(dir, 'plant-a'));
    expect(a.err).toMatch(new RegExp(`train: 30 windows of pump-1 from ${influx.url}/${database}\\n`));
    expect(a.code).toBe(0);
  });

  it("leaves out windows of a labelled fault at the machine's own site only", async () => {
    // A fault of plant-a's pump-1 from 400 to 500 s: plant-b's pump-1 ran normally meanwhile.
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 0 });
    await sink.start();
    const [opened, resolved] = [t0 + 400_000, t0 + 500_000];
    const alertId = `pump-1-${opened}`;
    const alert = (state: string, windowEnd: number) => sink.writeAlert({ siteId: 'plant-a', machineId: 'pump-1', alertId, state, score: 9, message: 'm', windowEnd });
    await Promise.all([
      alert('open', opened),
      alert('resolved', resolved),
      sink.writeAlertAction({ time: Date.now(), siteId: 'plant-a', machineId: 'pump-1', action: 'label', alertId, label: 'fault', who: 'ana' }),
    ]);
    await sink.flush();
    const b = await train('--machine', 'pump-1', '--site', 'plant-b', ...range(0, 3600), '--out', join(dir, 'plant-b-labelled'));
    expect(b.err).toMatch(/train: 60 windows of pump-1 at plant-b/);
    expect(b.err).not.toMatch(/left out/);
    expect(b.code).toBe(0);
    // At plant-a: from 5 windows (ALERT_DEFAULTS.within) before it opened, 350 s, until 500 s: 15 windows.
    const a = await train('--machine', 'pump-1', '--site', 'plant-a', ...range(0, 3600), '--out', join(dir, 'plant-a-labelled'));
    expect(a.err).toMatch(/train: left out 15 windows of pump-1 inside 1 alert episode\(s\) labelled fault or maintenance/);
    expect(a.code).toBe(0);
  });

  it('refuses a --site the machine has no windows at, naming the ones it has; --site only with --from-influx', async () => {
    const c = await train('--machine', 'pump-1', '--site', 'plant-c', ...range(0, 3600), '--out', join(dir, 'plant-c'));
    expect(c.err).toMatch(/^pdm train: --site plant-c: InfluxDB holds no window of machine "pump-1" at that site between .*; it has some at plant-a, plant-b\n\n/);
    expect(c.code).toBe(2);
    const csv = await pdm('train', '--input', join(dir, `pump-9-plant-a-${t0}.csv`), '--site', 'plant-a', '--out', join(dir, 'csv'));
    expect(csv.err).toMatch(/^pdm train: --site is for --from-influx: a CSV's rows carry no site\n\n/);
    expect(csv.code).toBe(2);
  });

  it('reads every row of the range past InfluxDB max-row-limit: every window with its four sensors', async () => {
    // 90 windows of 4 sensors: 360 rows, over the limit of 100.
    const { code, out, err } = await train('--machine', 'pump-9', ...range(0, 3600), '--kind', 'robust-t2', '--out', join(dir, 'pump-9'));
    expect(err).toMatch(/train: 90 windows of pump-9 from/);
    expect(out).toMatch(/features \(8\): current\.mean, current\.rms, load\.mean, load\.rms, temp\.mean, temp\.rms, vibration\.mean, vibration\.rms/);
    expect(out).not.toMatch(/skipped windows/);
    expect(code).toBe(0);
  });

  it('says when InfluxDB cannot be reached, and why', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const { code, err } = await pdm('train', '--from-influx', '--influx-url', url, '--machine', 'pump-9', ...range(0, 3600), '--out', join(dir, 'unreachable'));
    expect(err).toBe(`pdm train: cannot reach InfluxDB at ${url}: ECONNREFUSED`);
    expect(code).toBe(1);
  });

  it('refuses an answer cut short (a proxy that ends it after the first chunk) instead of training on part of it', async () => {
    const proxy = await cuttingProxy(influx.url);
    try {
      const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
      const { code, err } = await pdm('train', '--from-influx', '--influx-url', url, '--database', database, '--machine', 'pump-9', ...range(0, 3600), '--out', join(dir, 'cut'));
      expect(err).toBe(`pdm train: InfluxDB at ${url} ended its answer before its last rows (its last chunk says partial): nothing is trained on part of the range; try again`);
      expect(code).toBe(1);
    } finally {
      proxy.close();
    }
  });
});

/** An HTTP proxy in front of InfluxDB that passes on the first line of each answer and ends it there, cleanly. */
async function cuttingProxy(target: string): Promise<Server> {
  const server = createServer((req, res) => {
    // Uncompressed, so that it can find the lines.
    const headers = { ...req.headers, 'accept-encoding': 'identity' };
    const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
      let text = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => {
        text += chunk;
        const end = text.indexOf('\n');
        if (end < 0 || res.writableEnded) return;
        res.end(text.slice(0, end + 1));
        answer.destroy();
      });
      answer.on('end', () => {
        if (!res.writableEnded) res.end(text);
      });
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('pdm train --from-influx with InfluxDB authentication on', () => {
  let influx: RunningInflux;
  const database = uniqueDatabaseName();
  const host = () => influx.url.replace('http://', '');
  // A password with characters a URL must percent-encode.
  const password = 'r p@ss:w/d';
  const withUser = (user: string, secret: string) => `http://${user}:${encodeURIComponent(secret)}@${host()}`;
  const train = (url: string) =>
    pdm('train', '--from-influx', '--influx-url', url, '--database', database, '--machine', 'pump-9', '--from', iso(t0), '--until', iso(t0 + 3_600_000), '--out', join(dir, 'auth'));

  beforeAll(async () => {
    influx = await startTestInflux({ INFLUXDB_HTTP_AUTH_ENABLED: 'true' });
    // With authentication on, InfluxDB takes its first admin user from anyone.
    await influx.query(`CREATE USER admin WITH PASSWORD 'admin' WITH ALL PRIVILEGES`);
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: withUser('admin', 'admin'), database, batchMaxDelayMs: 0 });
    await sink.start();
    await store(sink, 'pump-9', 'plant-a', t0, 900);
    for (const statement of [`CREATE USER reader WITH PASSWORD '${password}'`, `GRANT READ ON "${database}" TO reader`, `CREATE USER stranger WITH PASSWORD 'x'`]) {
      const answer = await fetch(`${influx.url}/query`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }, body: new URLSearchParams({ q: statement }) });
      expect(answer.status).toBe(200);
    }
  });
  afterAll(() => influx?.stop());

  it('sends the user and password of --influx-url, and prints the URL without the password', async () => {
    const { code, out, err } = await train(withUser('reader', password));
    expect(err).toMatch(new RegExp(`train: 90 windows of pump-9 from http://reader:\\(hidden\\)@${host()}/${database}\\n`));
    expect(`${out}\n${err}`).not.toContain(encodeURIComponent(password));
    expect(code).toBe(0);
  });

  it('says what to put in --influx-url when InfluxDB refuses the login or the reading, exit 2', async () => {
    const none = await train(influx.url);
    expect(none.err).toMatch(new RegExp(`^pdm train: InfluxDB at ${influx.url} asks for a user and password \\(unable to parse authentication credentials\\): give them in --influx-url, as http://USER:PASSWORD@${host()}\\n\\n`));
    expect(none.code).toBe(2);

    const wrong = await train(withUser('reader', 'guess'));
    expect(wrong.err).toMatch(new RegExp(`^pdm train: InfluxDB at http://reader:\\(hidden\\)@${host()} refused user "reader" \\(authorization failed\\): check the user and password in --influx-url\\n\\n`));
    expect(wrong.err).not.toContain('guess');
    expect(wrong.code).toBe(2);

    const unescaped = await train(`http://reader:100%@${host()}`);
    expect(unescaped.err).toMatch(/^pdm train: --influx-url: a % in its user or password starts no %XX escape; write % as %25 /);
    expect(unescaped.code).toBe(2);

    const stranger = await train(withUser('stranger', 'x'));
    expect(stranger.err).toMatch(new RegExp(`^pdm train: InfluxDB at http://stranger:\\(hidden\\)@${host()} does not let user "stranger" read database "${database}" \\(error authorizing query: .*\\): grant READ on it, or give another user in --influx-url\\n\\n`));
    expect(stranger.code).toBe(2);
  });
});
