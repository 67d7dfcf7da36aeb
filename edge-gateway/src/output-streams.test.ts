// `pdm gateway | jq` works: a gateway process writes its log lines, one JSON object each, on standard
// output when that is not a terminal, and its start banner and stop line on standard error.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { makeTestDataDir } from '@pdm/influx-harness';
import { type TestEmulator, startTestEmulator } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatewayCli } from './cli.js';
import { GATEWAY_BIN, startGatewayProcess, writeGatewayConfig } from './test-support/gateway-process.js';

describe('what a gateway process writes where', () => {
  const dir = makeTestDataDir('gateway-output');
  let pubsub: TestEmulator;
  beforeAll(async () => {
    pubsub = await startTestEmulator();
  });
  afterAll(async () => {
    await pubsub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const lines = (text: string) => text.split('\n').filter((line) => line !== '');

  it('writes JSON log lines on a piped standard output, the banner and the stop line on standard error', async () => {
    const gateway = await startGatewayProcess(dir, pubsub.emulator.endpoint, { mqtt: { allowAnonymous: true } });
    expect(await gateway.stop()).toBe(0);
    const logged = lines(gateway.stdout()).map((line) => JSON.parse(line) as { msg: string; name: string });
    expect(logged.map((record) => record.msg)).toEqual(expect.arrayContaining(['gateway started', 'gateway stopped']));
    expect(new Set(logged.map((record) => record.name))).toEqual(new Set(['edge-gateway']));
    expect(gateway.stderr()).toMatch(/^edge gateway gateway-1 \(site site-1\)\n {2}MQTT {8}mqtt:\/\/127\.0\.0\.1:\d+ \(anonymous allowed\)\n/);
    expect(gateway.stderr()).toContain('SIGTERM: stopping the gateway');
  });

  it('writes readable log lines with --log-format pretty', async () => {
    const gateway = await startGatewayProcess(dir, pubsub.emulator.endpoint, { mqtt: { allowAnonymous: true } }, ['--log-format', 'pretty']);
    expect(await gateway.stop()).toBe(0);
    const logged = lines(gateway.stdout());
    expect(logged.find((line) => line.includes('gateway started'))).toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z INFO {2}gateway started mqttPort=\d+ httpPort=\d+ /);
    expect(logged.some((line) => line.startsWith('{'))).toBe(false);
  });

  it('writes readable log lines on a terminal by default (a pseudo-terminal from util-linux script)', async () => {
    const { configFile } = await writeGatewayConfig(dir, pubsub.emulator.endpoint, { mqtt: { allowAnonymous: true } });
    // The shell prints its pid and becomes the gateway (exec), so the test can send it SIGTERM.
    const command = `echo "pid $$"; exec ${process.execPath} ${GATEWAY_BIN} --config ${configFile}`;
    const terminal = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
    let output = '';
    terminal.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => terminal.once('exit', resolve));
    const pid = () => Number(/pid (\d+)/.exec(output)?.[1]);
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes('gateway started')) {
        if (Date.now() > deadline || terminal.exitCode !== null) throw new Error(`no start on the terminal:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      process.kill(pid(), 'SIGTERM');
      await exited;
    } finally {
      // A gateway left running by a failure above must not outlive the test.
      if (terminal.exitCode === null && pid() > 0) process.kill(pid(), 'SIGKILL');
    }
    const started = lines(output.replaceAll('\r', '')).find((line) => line.includes('gateway started'));
    expect(started).toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z INFO {2}gateway started mqttPort=\d+ /);
  });

  it('refuses an unknown log format, naming the flag', async () => {
    const errors: string[] = [];
    const io = { out: () => {}, err: (line: string) => errors.push(line), waitForStop: () => new Promise<NodeJS.Signals>(() => {}) };
    expect(await runGatewayCli(['--log-format', 'yaml', '--print-config'], io)).toBe(2);
    expect(errors).toEqual(['pdm gateway: --log-format must be one of auto, json, pretty (got "yaml")']);
  });
});
