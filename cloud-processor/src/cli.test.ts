import { status } from '@grpc/grpc-js';
import { until } from '@pdm/pubsub-emulator/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcessorCli, type ProcessorCliIo } from './cli.js';
import { useProcessorTestbeds } from './test-support/processor-testbed.js';
import { makeWindow } from './test-support/windows.js';

function io(env: NodeJS.ProcessEnv = {}): ProcessorCliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  // No stop is ever asked: one asked at once would end a start before it meets what a test looks for.
  return { lines, errors, env, out: (l) => lines.push(l), err: (l) => errors.push(l), waitForStop: () => new Promise<NodeJS.Signals>(() => {}) };
}

describe('pdm processor CLI', () => {
  it('prints help', async () => {
    const cli = io();
    expect(await runProcessorCli(['--help'], cli)).toBe(0);
    expect(cli.lines.join('\n')).toMatch(/pdm processor \[--config FILE\]/);
  });

  it('exits 2 on an unknown flag', async () => {
    const cli = io();
    expect(await runProcessorCli(['--bogus'], cli)).toBe(2);
    expect(cli.errors.join('\n')).toMatch(/bogus/);
  });

  it('exits 2 naming the key of a bad configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'processor-cli-'));
    try {
      writeFileSync(join(dir, 'p.yaml'), 'http:\n  port: 70000\n');
      const cli = io();
      expect(await runProcessorCli(['--config', join(dir, 'p.yaml')], cli)).toBe(2);
      expect(cli.errors.join('\n')).toMatch(/http\.port/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints every effective key with --print-config, defaults included and secrets hidden', async () => {
    const cli = io({
      PDM_PROCESSOR_HTTP__API_TOKEN: 'sixteen-chars-secret-token',
      PDM_PROCESSOR_INFLUX__URL: 'http://writer:s3cret@db.example:8086',
      PDM_PROCESSOR_ALERTS__WEBHOOK__URL: 'https://hooks.example.com/services/T000/B000/XXXXSECRET',
      PDM_PROCESSOR_MODEL__MAX_BATCH: '64',
    });
    expect(await runProcessorCli(['--print-config'], cli)).toBe(0);
    const text = cli.lines.join('\n');
    expect(text).not.toMatch(/sixteen-chars-secret-token|s3cret|XXXXSECRET|services/);
    const printed = JSON.parse(text) as Record<string, Record<string, unknown>>;
    expect(printed.http).toEqual({ host: '0.0.0.0', port: 9465, apiToken: '(hidden)' });
    expect(printed.influx!.url).toBe('http://writer:(hidden)@db.example:8086');
    expect((printed.alerts!.webhook as { url: string }).url).toBe('https://hooks.example.com/(hidden)');
    // Set keys win; defaults resolved outside the schema are shown too (scorer: 10 ms, 2 s, 1 min, 30 days).
    expect(printed.model).toMatchObject({ registryDir: '.data/models', maxBatch: 64, maxDelayMs: 10, pollMs: 2000, stateSaveMs: 60_000, forgetMachinesAfterMs: 2_592_000_000 });
    expect(printed.alerts).toMatchObject({ openAfter: 3, within: 5, delivery: { publishTimeoutMs: 60_000, takeoverAfterMs: 300_000 } });
    expect(printed.pubsub).toMatchObject({ subscription: 'pdm-features-processor', createResources: false });
    expect(printed.pipelineReportIntervalMs).toBe(10_000);
  });

  it('takes the log format from log.format (auto unless set) or --log-format, which wins', async () => {
    const format = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const cli = io(env);
      expect(await runProcessorCli([...argv, '--print-config'], cli)).toBe(0);
      return (JSON.parse(cli.lines.join('\n')) as { log: { format: string } }).log.format;
    };
    expect(await format([])).toBe('auto');
    expect(await format([], { PDM_PROCESSOR_LOG__FORMAT: 'pretty' })).toBe('pretty');
    expect(await format(['--log-format', 'json'], { PDM_PROCESSOR_LOG__FORMAT: 'pretty' })).toBe('json');
    const cli = io({ PDM_PROCESSOR_LOG__FORMAT: 'yaml' });
    expect(await runProcessorCli(['--print-config'], cli)).toBe(2);
    expect(cli.errors.join('\n')).toMatch(/log\.format \(from PDM_PROCESSOR_LOG__FORMAT\): Invalid option/);
  });

  it('exits 1 when a dependency is unreachable at start', async () => {
    // InfluxDB is the unreachable one; Pub/Sub an emulator, so no Google credentials are looked for.
    const cli = io({
      PDM_PROCESSOR_INFLUX__URL: 'http://127.0.0.1:1',
      PDM_PROCESSOR_INFLUX__REQUEST_TIMEOUT_MS: '2000',
      PDM_PROCESSOR_LOG__LEVEL: 'silent',
      PDM_PROCESSOR_PUBSUB__EMULATOR_HOST: '127.0.0.1:1',
    });
    expect(await runProcessorCli([], cli)).toBe(1);
    // Named with its configuration key: a bare "connect ECONNREFUSED 127.0.0.1:1" does not say what was asked.
    expect(cli.errors.join('\n')).toMatch(/^pdm processor: could not start: InfluxDB at influx\.url http:\/\/127\.0\.0\.1:1\/?: .*ECONNREFUSED 127\.0\.0\.1:1/m);
  });
});

describe('pdm processor once the Pub/Sub client stopped pulling for good', () => {
  const testbed = useProcessorTestbeds();
  const dir = mkdtempSync(join(tmpdir(), 'processor-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops and exits 1, naming the subscription, so that its supervisor restarts it', async () => {
    const t = await testbed();
    const configFile = join(dir, `${t.database}.json`);
    writeFileSync(configFile, JSON.stringify(t.config({ model: { registryDir: join(dir, t.database) } })));
    const cli = io(); // no signal ever comes
    const exited = runProcessorCli(['--config', configFile], cli);
    await until(() => cli.errors.some((line) => line.endsWith('(Ctrl-C stops)')), 'the processor running', 60_000);
    await t.bed.publishWindow(makeWindow());
    await until(() => t.bed.stats().acked === 1, 'a window stored: the processor pulls');
    t.bed.t.emulator.dropStreams(status.PERMISSION_DENIED, 'caller lacks pubsub.subscriptions.consume');
    expect(await Promise.race([exited, sleep(10_000, 'still running')])).toBe(1);
    expect(cli.errors.at(-1)).toBe(
      `pdm processor: stopped pulling from Pub/Sub subscription "projects/pdm-test/subscriptions/${t.bed.subscription}" for good: caller lacks pubsub.subscriptions.consume (gRPC code 7); stopping`,
    );
  });
});
