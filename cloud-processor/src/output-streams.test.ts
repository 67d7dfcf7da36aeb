// `pdm processor | jq` works: a processor process writes its log lines, one JSON object each, on
// standard output when that is not a terminal (readable lines with --log-format pretty), and its
// banner and stop line on standard error. Runs the built `pdm` (cli/bin/pdm.js), as an operator does.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcessorCli } from './cli.js';
import { useProcessorTestbeds } from './test-support/processor-testbed.js';

const PDM_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli', 'bin', 'pdm.js');

describe('what a processor process writes where', () => {
  const testbed = useProcessorTestbeds();
  const dir = mkdtempSync(join(tmpdir(), 'processor-output-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const lines = (text: string) => text.split('\n').filter((line) => line !== '');

  /** Starts `pdm processor` on the testbed, stops it with SIGTERM once started, and returns what it wrote. */
  async function runProcessor(flags: string[]): Promise<{ code: number | null; stdout: string; stderr: string; how: string }> {
    const bed = await testbed();
    const configFile = join(dir, `${bed.database}.json`);
    writeFileSync(configFile, JSON.stringify(bed.config({ log: { level: 'info' }, model: { registryDir: join(dir, bed.database) } })));
    const child = spawn(process.execPath, [PDM_BIN, 'processor', '--config', configFile, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // 'close', not 'exit': everything the process wrote has been read.
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    try {
      const deadline = Date.now() + 60_000;
      while (!stderr.includes('Ctrl-C stops')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the processor did not start:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      child.kill('SIGTERM');
      const { code, signal } = await closed;
      // What a failed stop says: the exit code alone (null) does not tell a signal from a crash.
      return { code, stdout, stderr, how: `exit code ${code}, signal ${signal}; its standard error ends:\n${stderr.slice(-2000)}` };
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }

  it('writes JSON log lines on a piped standard output, the banner and the stop line on standard error', async () => {
    const { code, stdout, stderr, how } = await runProcessor([]);
    expect(code, how).toBe(0);
    const logged = lines(stdout).map((line) => JSON.parse(line) as { msg: string });
    expect(logged.map((record) => record.msg)).toEqual(expect.arrayContaining(['processor started', 'processor stopped']));
    expect(stderr).toMatch(/^processor \S+ running; ops HTTP on port \d+ \(Ctrl-C stops\)$/m);
    expect(stderr).toContain('SIGTERM: stopping');
  }, 120_000);

  it('writes readable log lines with --log-format pretty', async () => {
    const { code, stdout, how } = await runProcessor(['--log-format', 'pretty']);
    expect(code, how).toBe(0);
    const logged = lines(stdout);
    expect(logged.find((line) => line.includes('processor started'))).toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z INFO {2}processor started instance=\S+ httpPort=\d+ subscription=\S+$/);
    expect(logged.some((line) => line.startsWith('{'))).toBe(false);
  }, 120_000);

  it('takes over the stop signals before its banner says Ctrl-C stops', async () => {
    const bed = await testbed();
    const configFile = join(dir, `${bed.database}-signals.json`);
    writeFileSync(configFile, JSON.stringify(bed.config({ log: { level: 'warn' }, model: { registryDir: join(dir, `${bed.database}-signals`) } })));
    // A stop sent the moment the banner is read (a supervisor, the tests above) must find them taken.
    // (They are taken before the start: cli-signals.test.ts.)
    let listening = false;
    let stop: (signal: NodeJS.Signals) => void = () => {};
    const listeningAtBanner: boolean[] = [];
    const io = {
      out: () => {},
      err: (line: string) => {
        if (!line.includes('(Ctrl-C stops)')) return;
        listeningAtBanner.push(listening);
        stop('SIGTERM');
      },
      waitForStop: () => {
        listening = true;
        return new Promise<NodeJS.Signals>((resolve) => (stop = resolve));
      },
    };
    expect(await runProcessorCli(['--config', configFile], io)).toBe(0);
    expect(listeningAtBanner).toEqual([true]);
  }, 120_000);

  it('refuses an unknown log format, naming the flag', async () => {
    const errors: string[] = [];
    const io = { out: () => {}, err: (line: string) => errors.push(line), waitForStop: () => new Promise<NodeJS.Signals>(() => {}) };
    expect(await runProcessorCli(['--log-format', 'yaml', '--print-config'], io)).toBe(2);
    expect(errors).toEqual(['pdm processor: --log-format must be one of auto, json, pretty (got "yaml")']);
  });
});
