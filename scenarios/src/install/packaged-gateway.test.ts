// The installable gateway, as a plant installs it: `npm run package` makes the tarball, `npm install -g`
// puts it into an empty prefix without any registry (--offline: everything is bundled), and the `pdm`
// it installs runs a gateway against the Pub/Sub emulator. Readings published by a real MQTT client
// (Debian's mosquitto_pub) must come out as a window with the right count and mean. Needs the
// workspace packages built (scenarios' test target depends on their build).
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { windowsOfMessage } from '@pdm/edge-gateway';
import { freePort } from '@pdm/influx-harness';
import { Collector, PROJECT, startTestEmulator, type TestEmulator } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PdmProcess, startProgram } from '../processes/pdm-process.js';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;
const WINDOW_MS = 1_000;

/** The environment without the npm_* variables of the `npm test` this may run under (workspace, prefix…). */
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));

/** Every file below `dir`, as paths relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? filesUnder(dir, path) : [path];
  });
}

/** Publishes each line of `lines` as one QoS 1 message on `topic` with one mosquitto_pub connection. */
function mosquittoPub(port: number, topic: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-l'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited ${code}: ${stderr}`))));
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}

describe('the gateway installed from the package tarball', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdm-install-'));
  const prefix = join(dir, 'prefix');
  let tarball = '';
  let installedBin = '';
  let pubsub: TestEmulator;
  let gateway: PdmProcess | undefined;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    let started = performance.now();
    const packed = await run(process.execPath, [join(ROOT, 'tools/package.mjs'), '--no-build', '--out-dir', dir], { cwd: ROOT, env: cleanEnv() });
    tarball = packed.stdout.trim();
    timings.package = performance.now() - started;

    started = performance.now();
    await run('npm', ['install', '--global', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball], { cwd: dir, env: cleanEnv() });
    timings.install = performance.now() - started;
    installedBin = join(prefix, 'bin', 'pdm');

    pubsub = await startTestEmulator();
  }, 600_000);

  afterAll(async () => {
    await gateway?.stop();
    await pubsub?.close();
    rmSync(dir, { recursive: true, force: true });
    // Shown in the test output: the figures the README quotes come from here.
    console.log(`packaging ${(timings.package! / 1000).toFixed(1)} s, npm install -g ${(timings.install! / 1000).toFixed(1)} s`);
  });

  it('is a versioned tarball that installs a pdm command, without sources, tests or dev tooling', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'cli/package.json'), 'utf8')) as { version: string };
    expect(tarball).toBe(join(dir, `pdm-${version}.tgz`));
    expect(existsSync(installedBin)).toBe(true);
    const { stdout } = await run(installedBin, ['--version'], { env: cleanEnv() });
    expect(stdout.trim()).toBe(version);

    const installed = filesUnder(join(prefix, 'lib', 'node_modules', 'pdm'));
    expect(installed).toContain('bin/pdm.js');
    expect(installed).toContain('node_modules/@pdm/edge-gateway/dist/index.js');
    expect(installed.filter((file) => /\.[cm]?ts$/.test(file) || file.endsWith('.map'))).toEqual([]);
    expect(installed.filter((file) => /(^|\/)(src|test-support|bench)\//.test(file) && file.includes('@pdm/'))).toEqual([]);
    expect(installed.filter((file) => /\.test\.js$/.test(file))).toEqual([]);
    for (const devTool of ['vitest', 'nx', 'typescript', 'eslint', 'vite', '@nx', '@bufbuild/buf']) {
      expect(installed.some((file) => file.startsWith(`node_modules/${devTool}/`)), devTool).toBe(false);
    }
  });

  it('runs `pdm gateway`: readings from an MQTT client arrive in Pub/Sub as a window with their count and mean', async () => {
    const client = pubsub.client();
    const [topic] = await client.createTopic('pdm-features');
    const [subscription] = await topic.createSubscription('install-test');
    const features = new Collector(subscription);

    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const configFile = join(dir, 'gateway.json');
    const config = {
      gatewayId: 'install-gw',
      siteId: 'install-site',
      mqtt: { host: '127.0.0.1', port: mqttPort, allowAnonymous: true },
      http: { host: '127.0.0.1', port: httpPort },
      // The machine's window closes on the gateway's clock once its sensor goes quiet.
      windows: { windowMs: WINDOW_MS, allowedLatenessMs: 0, idleTimeoutMs: 500, tickMs: 100 },
      outbox: { path: join(dir, 'outbox.sqlite') }, // better-sqlite3's bundled native addon
      pubsub: { projectId: PROJECT, topic: 'pdm-features', emulatorHost: pubsub.emulator.endpoint, createTopic: false, batchMaxMilliseconds: 5 },
      health: { intervalMs: 0 },
      log: { level: 'warn' },
    };
    writeFileSync(configFile, JSON.stringify(config));
    gateway = await startProgram('installed gateway', installedBin, ['gateway', '--config', configFile], /operations\s+http:\/\//);

    // Four readings inside one window a few seconds back: count 4, mean (1.5 + 2.5 + 4 + 8) / 4 = 4.
    const windowStart = Math.floor((Date.now() - 5_000) / WINDOW_MS) * WINDOW_MS;
    const values = [1.5, 2.5, 4, 8];
    await mosquittoPub(
      mqttPort,
      'sensors/press-7/temp',
      values.map((value, i) => JSON.stringify({ ts: windowStart + 100 * (i + 1), value })),
    );

    await features.waitFor(1, 30_000);
    const windows = features.messages.flatMap((message) => windowsOfMessage(message));
    expect(windows).toHaveLength(1);
    const [window] = windows;
    expect(window).toMatchObject({ gatewayId: 'install-gw', siteId: 'install-site', machineId: 'press-7', windowStart: BigInt(windowStart) });
    expect(window!.sensors).toHaveLength(1);
    expect(window!.sensors[0]).toMatchObject({ sensorId: 'temp', count: 4, mean: 4, min: 1.5, max: 8 });

    expect(await gateway.stop()).toBe(0);
    gateway = undefined;
    await subscription.close();
  });
});
