import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProcessorCli, type ProcessorCliIo } from './cli.js';

function io(env: NodeJS.ProcessEnv = {}): ProcessorCliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, env, out: (l) => lines.push(l), err: (l) => errors.push(l), waitForStop: () => Promise.resolve('SIGTERM') };
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

  it('exits 1 when a dependency is unreachable at start', async () => {
    // InfluxDB is the unreachable one; Pub/Sub an emulator, so no Google credentials are looked for.
    const cli = io({
      PDM_PROCESSOR_INFLUX__URL: 'http://127.0.0.1:1',
      PDM_PROCESSOR_INFLUX__REQUEST_TIMEOUT_MS: '2000',
      PDM_PROCESSOR_LOG__LEVEL: 'silent',
      PDM_PROCESSOR_PUBSUB__EMULATOR_HOST: '127.0.0.1:1',
    });
    expect(await runProcessorCli([], cli)).toBe(1);
    expect(cli.errors.join('\n')).toMatch(/could not start/);
  });
});
