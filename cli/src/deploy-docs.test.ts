// Keeps the operations docs true to the code: the example configurations in deploy/ and the README's
// users file validate through the services' own loaders, docs/RUNBOOK.md names every Prometheus metric the gateway and the
// processor register (and no pdm_ name that does not exist), and the systemd unit and the container
// file start the services with flags their CLIs accept, on the paths their example configurations use.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEAD_LETTER_REASON_ATTRIBUTES, PROCESSOR_NODE_FLAGS, ProcessorMetrics, loadProcessorConfig, runProcessorCli } from '@pdm/cloud-processor';
import { GATEWAY_NODE_FLAGS, hashPassword, loadGatewayConfig, runGatewayCli, startGateway, Users, type CliIo } from '@pdm/edge-gateway';
import { makeTestDataDir } from '@pdm/influx-harness';
import { startTestEmulator, type TestEmulator } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoPath = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const readRepoFile = (path: string) => readFileSync(repoPath(path), 'utf8');

const GATEWAY_EXAMPLE = repoPath('deploy/gateway.example.yaml');
const PROCESSOR_EXAMPLE = repoPath('deploy/processor.example.yaml');
const RUNBOOK = 'docs/RUNBOOK.md';
const GATEWAY_UNIT = 'deploy/systemd/pdm-gateway.service';
const PROCESSOR_CONTAINERFILE = 'deploy/processor.Containerfile';
const GATEWAY_CONTAINERFILE = 'deploy/gateway.Containerfile';
/** Where `npm install -g` of the package tarball (`npm run package`) puts the command: npm's default prefix. */
const INSTALLED_PDM = '/usr/local/bin/pdm';

/** The package's `pdm` bin is cli's bin/pdm.js (tools/package.mjs keeps cli's `bin`), which runs main(). */
function installedPdmRuns(): boolean {
  const { bin } = JSON.parse(readRepoFile('cli/package.json')) as { bin: Record<string, string> };
  return bin.pdm === './bin/pdm.js' && /main\(process\.argv/.test(readRepoFile('cli/bin/pdm.js'));
}

/** Captures a CLI's output; the services never wait for a stop signal in these checks. */
function captureIo(): CliIo & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (line) => lines.push(line), err: (line) => lines.push(line), waitForStop: () => new Promise(() => {}) };
}

/** The value of a `Key=value` line of a systemd unit (the last one wins, as in systemd). */
function unitSetting(unit: string, key: string): string {
  const values = [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
  const value = values.at(-1);
  if (value === undefined) throw new Error(`${GATEWAY_UNIT} has no ${key}=`);
  return value;
}

/** The JSON-array (exec) form of a Containerfile instruction at the start of a line. */
function execForm(containerfile: string, instruction: string): string[] {
  const match = new RegExp(`^${instruction} (\\[.*\\])$`, 'm').exec(containerfile);
  if (!match) throw new Error(`${PROCESSOR_CONTAINERFILE} has no ${instruction} in exec form`);
  return JSON.parse(match[1]!) as string[];
}

describe('deploy/ example configurations', () => {
  it('gateway.example.yaml is a valid production gateway configuration', () => {
    const config = loadGatewayConfig({ file: GATEWAY_EXAMPLE, env: {} });
    expect(config.pubsub.emulatorHost).toBeUndefined();
    expect(config.pubsub.createTopic).toBe(false);
    expect(config.mqtt.allowAnonymous).toBe(false);
    expect(config.mqtt.usersFile).toBeDefined();
  });

  it('processor.example.yaml is a valid production processor configuration', () => {
    const config = loadProcessorConfig({ file: PROCESSOR_EXAMPLE, env: {} });
    expect(config.pubsub.emulatorHost).toBeUndefined();
    expect(config.pubsub.createResources).toBe(false);
  });
});

describe("the README's users file example", () => {
  it('loads through the gateway and grants what its comments say', async () => {
    const readme = readRepoFile('README.md');
    const block = /- \*\*Users file\*\* \(`mqtt\.usersFile`\):\n {2}```yaml\n([\s\S]*?)\n {2}```/.exec(readme)?.[1];
    expect(block, 'README has a users file example').toBeDefined();
    const dir = makeTestDataDir('readme-users');
    try {
      const file = join(dir, 'users.yaml');
      // Its hash is a placeholder ("scrypt$16384$8$1$..."): a real one of the same format in its place.
      const hash = await hashPassword('secret', { N: 1024, r: 8, p: 1 });
      writeFileSync(file, block!.replace(/^ {2}/gm, '').replace(/passwordHash: "[^"]*"/, `passwordHash: "${hash}"`));
      const user = await Users.load(file).authenticate('line-1-plc', 'secret');
      expect(user).toBeDefined();
      expect(Users.mayPublish(user!, 'sensors/press-1/pressure')).toBe(true);
      expect(Users.mayPublish(user!, 'sensors/press-3/pressure')).toBe(false);
      expect(Users.maySubscribe(user!, 'alerts/pump-1')).toBe(true);
      expect(Users.maySubscribe(user!, 'alerts/#')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the README's bridge example (Connecting an existing plant)", () => {
  it('is a gateway configuration that maps what its comments say', () => {
    const readme = readRepoFile('README.md');
    const section = readme.slice(readme.indexOf('## Connecting an existing plant'));
    const block = /```yaml\n([\s\S]*?)\n```/.exec(section)?.[1];
    expect(block, 'README has a bridge example').toBeDefined();
    const dir = makeTestDataDir('readme-bridge');
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, block!);
      const [upstream] = loadGatewayConfig({ file, env: {} }).bridge.upstreams;
      expect(upstream).toMatchObject({ name: 'plant', url: 'mqtts://broker.plant.local:8883', passwordFile: '/etc/pdm/plant-broker.password' });
      // machineId unset means its default, {machine}.
      expect(upstream!.mappings.map((m) => [m.topic, m.machineId ?? '{machine}'])).toEqual([
        ['plant/{line}/{machine}/{sensor}', '{line}-{machine}'],
        ['site/+/{machine}/{sensor}/state', '{machine}'],
      ]);
      expect(upstream!.mappings[1]).toMatchObject({ value: 'data.raw', timestamp: 'data.time', epochUnit: 's', sensors: { pressure: { scale: 0.1, offset: -1 } } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docs/RUNBOOK.md and the metrics in the code', () => {
  const dir = makeTestDataDir('deploy-docs');
  let pubsub: TestEmulator;
  /** Every metric either service registers: name → prom-client type. */
  const registered = new Map<string, string>();
  const runbook = readRepoFile(RUNBOOK);
  const namesInRunbook = (prefix: string) => new Set(runbook.match(new RegExp(`\\b${prefix}_[a-z0-9_]*[a-z0-9]`, 'g')) ?? []);

  beforeAll(async () => {
    pubsub = await startTestEmulator();
    const usersFile = join(dir, 'users.yaml');
    writeFileSync(usersFile, 'users: []\n');
    // The example configuration itself, moved onto free ports, a scratch outbox and the emulator.
    const gateway = await startGateway(
      loadGatewayConfig({
        file: GATEWAY_EXAMPLE,
        env: {
          PDM_GATEWAY_MQTT__HOST: '127.0.0.1',
          PDM_GATEWAY_MQTT__PORT: '0',
          PDM_GATEWAY_MQTT__USERS_FILE: usersFile,
          PDM_GATEWAY_HTTP__HOST: '127.0.0.1',
          PDM_GATEWAY_HTTP__PORT: '0',
          PDM_GATEWAY_OUTBOX__PATH: join(dir, 'outbox.sqlite'),
          PDM_GATEWAY_PUBSUB__EMULATOR_HOST: pubsub.emulator.endpoint,
          PDM_GATEWAY_LOG__LEVEL: 'silent',
        },
      }),
    );
    try {
      const registries = [gateway.metrics.registry, new ProcessorMetrics({ defaultMetrics: true }).registry];
      for (const registry of registries) for (const metric of await registry.getMetricsAsJSON()) registered.set(metric.name, String(metric.type));
    } finally {
      await gateway.stop();
    }
  });

  afterAll(async () => {
    await pubsub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A name as PromQL writes it: the metric itself, or a histogram's _bucket/_sum/_count series. */
  const isExported = (name: string) => {
    if (registered.has(name)) return true;
    const series = /^(.*)_(bucket|sum|count)$/.exec(name);
    return series !== null && registered.get(series[1]!) === 'histogram';
  };

  it('names every pdm_ metric the gateway and the processor register', () => {
    const documented = namesInRunbook('pdm');
    const ours = [...registered.keys()].filter((name) => name.startsWith('pdm_'));
    expect(ours.filter((name) => name.startsWith('pdm_gateway_')).length).toBeGreaterThan(10);
    expect(ours.filter((name) => name.startsWith('pdm_processor_')).length).toBeGreaterThan(10);
    expect(ours.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('names no pdm_ metric or attribute that does not exist', () => {
    const attributes = new Set<string>(Object.values(DEAD_LETTER_REASON_ATTRIBUTES));
    const unknown = [...namesInRunbook('pdm')].filter((name) => !isExported(name) && !attributes.has(name));
    expect(unknown).toEqual([]);
  });

  it('names only Node.js and process metrics the services export', () => {
    const named = [...namesInRunbook('nodejs'), ...namesInRunbook('process')];
    expect(named).toContain('nodejs_eventloop_lag_seconds');
    expect(named.filter((name) => !isExported(name))).toEqual([]);
  });
});

describe('deploy/ service definitions', () => {
  const unit = readRepoFile(GATEWAY_UNIT);
  const gatewayConfig = () => loadGatewayConfig({ file: GATEWAY_EXAMPLE, env: {} });

  it('the systemd unit runs `pdm gateway` with flags it accepts', async () => {
    const words = unitSetting(unit, 'ExecStart').split(/\s+/);
    const command = words.indexOf('gateway');
    expect(words[command - 1]).toBe(INSTALLED_PDM);
    expect(installedPdmRuns()).toBe(true);
    const flags = words.slice(command + 1);
    const config = flags.indexOf('--config');
    expect(config).toBeGreaterThanOrEqual(0);
    flags[config + 1] = GATEWAY_EXAMPLE;
    const io = captureIo();
    const exit = await runGatewayCli([...flags, '--print-config'], io);
    expect({ exit, output: io.lines }).toMatchObject({ exit: 0 });
    expect((JSON.parse(io.lines.join('\n')) as { gatewayId: string }).gatewayId).toBe(gatewayConfig().gatewayId);
    // With the node flags the gateway is measured with (edge-gateway/src/node-flags.ts); every
    // Environment= line of a unit adds to the environment.
    const environment = [...unit.matchAll(/^Environment=(.*)$/gm)].map((m) => m[1]!.trim());
    expect(environment).toContain(`NODE_OPTIONS=${GATEWAY_NODE_FLAGS.join(' ')}`);
  });

  it('the systemd unit lets the example gateway write its outbox and gives it time to flush', () => {
    const { outbox, shutdownTimeoutMs } = gatewayConfig();
    const writable = unitSetting(unit, 'ReadWritePaths').split(/\s+/);
    expect(writable).toContain(`/var/lib/${unitSetting(unit, 'StateDirectory')}`);
    expect(writable).toContain(dirname(outbox.path));
    const stopSeconds = Number(/^(\d+)s?$/.exec(unitSetting(unit, 'TimeoutStopSec'))?.[1]);
    expect(stopSeconds * 1000).toBeGreaterThanOrEqual(shutdownTimeoutMs + 10_000);
  });

  it('the container file runs `pdm processor` with flags it accepts, on the example configuration’s paths', async () => {
    const containerfile = readRepoFile(PROCESSOR_CONTAINERFILE);
    // With the node flags the processor is measured with (cloud-processor/src/app/node-flags.ts).
    expect(execForm(containerfile, 'ENTRYPOINT')).toEqual(['node', ...PROCESSOR_NODE_FLAGS, '/app/cli/bin/pdm.js']);
    const [command, ...flags] = execForm(containerfile, 'CMD');
    expect(command).toBe('processor');
    // The processor parses its flags strictly before it looks at --help, so this refuses unknown flags.
    const io = captureIo();
    const exit = await runProcessorCli([...flags, '--help'], io);
    expect({ exit, output: io.lines }).toMatchObject({ exit: 0 });
    const configPath = flags[flags.indexOf('--config') + 1];
    expect(containerfile).toContain(`/src/deploy/processor.example.yaml ${configPath}`);
    const config = loadProcessorConfig({ file: PROCESSOR_EXAMPLE, env: {} });
    expect(containerfile).toContain(`VOLUME ["${config.model.registryDir}"]`);
    expect(config.model.stateFile).toBeDefined();
    const stateDir = dirname(config.model.stateFile ?? '');
    expect(containerfile).toContain(`VOLUME ["${stateDir}"]`);
    // The node user must be able to create the file and its -wal/-shm beside it.
    expect(containerfile).toMatch(new RegExp(`^RUN mkdir -p [^\n]*${stateDir}[^\n]*&& chown node:node [^\n]*${stateDir}`, 'm'));
    expect(containerfile).toContain(`EXPOSE ${config.http.port}`);
    expect(containerfile).toContain(`fetch('http://127.0.0.1:${config.http.port}/healthz')`);
    expect(containerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(containerfile).toMatch(/^USER node$/m);
  });

  it('the gateway container file installs the package and runs `pdm gateway` with flags it accepts, on the example configuration’s paths', async () => {
    const containerfile = readRepoFile(GATEWAY_CONTAINERFILE);
    expect(containerfile).toMatch(/npm run package -- --no-build --out-dir (\S+)[\s\S]*npm install --global --offline .*pdm-\*\.tgz/);
    expect(execForm(containerfile, 'ENTRYPOINT')).toEqual([INSTALLED_PDM]);
    expect(containerfile).toMatch(new RegExp(`^ENV NODE_OPTIONS=${GATEWAY_NODE_FLAGS.join(' ')}$`, 'm'));
    expect(installedPdmRuns()).toBe(true);
    const [command, ...flags] = execForm(containerfile, 'CMD');
    expect(command).toBe('gateway');
    const configPath = flags[flags.indexOf('--config') + 1];
    expect(containerfile).toContain(`/src/deploy/gateway.example.yaml ${configPath}`);
    flags[flags.indexOf('--config') + 1] = GATEWAY_EXAMPLE;
    const io = captureIo();
    const exit = await runGatewayCli([...flags, '--print-config'], io);
    expect({ exit, output: io.lines }).toMatchObject({ exit: 0 });
    const config = gatewayConfig();
    expect(containerfile).toContain(`VOLUME ["${dirname(config.outbox.path)}"]`);
    expect(containerfile).toMatch(new RegExp(`^EXPOSE ${config.mqtt.port} ${config.http.port}$`, 'm'));
    expect(containerfile).toContain(`fetch('http://127.0.0.1:${config.http.port}/healthz')`);
    expect(containerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(containerfile).toMatch(/^USER node$/m);
  });
});
