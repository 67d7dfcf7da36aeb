// `pdm processor` and a stop asked while it starts (the InfluxDB schema, the Pub/Sub resources and the
// models take seconds): it takes SIGTERM/SIGINT over before it opens anything, so such a stop is not
// lost — without a handler a SIGTERM ended the process at once (exit 143), and node as PID 1 in a
// container ignores it: the processor then started pulling and was killed at the end of the grace
// period. The start ends at its next step, before any message is pulled, and the exit code is 0, as
// the gateway's after a stop asked during its start.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcessorCli } from './cli.js';
import { useProcessorTestbeds } from './test-support/processor-testbed.js';
import { makeWindow } from './test-support/windows.js';

const PDM_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli', 'bin', 'pdm.js');

interface InfluxGate {
  /** The URL to give the processor: the real InfluxDB's, on the gate's port. */
  url: string;
  /** Connections the gate has taken. */
  connections(): number;
  /** Lets the held connections (and every later one) through to InfluxDB. */
  open(): void;
  close(): Promise<void>;
}

/**
 * A TCP gate in front of the real InfluxDB: it takes connections but holds them, unanswered, until
 * open(); the processor's start waits in its first InfluxDB request meanwhile, at a known point.
 */
async function influxGate(influxUrl: string, opened = false): Promise<InfluxGate> {
  const target = new URL(influxUrl);
  const sockets = new Set<Socket>();
  const waiting: Socket[] = [];
  let taken = 0;
  const through = (socket: Socket) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    socket.pipe(upstream).pipe(socket);
    const end = () => (socket.destroy(), upstream.destroy());
    socket.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  };
  const server = createServer((socket) => {
    taken++;
    sockets.add(socket);
    if (opened) through(socket);
    else waiting.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(influxUrl);
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    connections: () => taken,
    open() {
      opened = true;
      for (const socket of waiting.splice(0)) through(socket);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('pdm processor and a stop asked during its start', () => {
  const testbed = useProcessorTestbeds();
  const dir = mkdtempSync(join(tmpdir(), 'processor-cli-signals-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a SIGTERM to the process while its start waits on InfluxDB ends the start before it pulls, exit 0', async () => {
    const t = await testbed();
    await t.bed.publishWindow(makeWindow()); // there to be pulled, if the processor pulled
    const gate = await influxGate(t.config().influx.url);
    const configFile = join(dir, `${t.database}.json`);
    writeFileSync(configFile, JSON.stringify(t.config({ influx: { url: gate.url }, log: { level: 'info' }, model: { registryDir: join(dir, t.database) } })));
    const child = spawn(process.execPath, [PDM_BIN, 'processor', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // 'close', not 'exit': everything the process wrote has been read.
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    const running = () => child.exitCode === null && child.signalCode === null;
    try {
      // The start is in its first InfluxDB request (the schema), held by the gate: a point it cannot
      // reach before the command has begun, and cannot leave until the gate opens.
      await waitFor(() => gate.connections() > 0 || !running(), 'the processor asking InfluxDB for its schema', 60_000);
      expect(running(), `the processor ended before InfluxDB answered:\n${stderr}`).toBe(true);
      child.kill('SIGTERM');
      // Taken, not the default action (which ends the process at once, as the signal's death).
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect({ running: running(), signal: child.signalCode }).toEqual({ running: true, signal: null });
      gate.open();
      const { code, signal } = await closed;
      const how = `exit code ${code}, signal ${signal}; its standard error:\n${stderr}`;
      expect({ code, signal }, how).toEqual({ code: 0, signal: null });
      expect(stderr, how).toContain('SIGTERM: stopped during start-up, before pulling from Pub/Sub');
      expect(stderr, how).not.toContain('Ctrl-C stops');
      expect(stdout).not.toContain('processor started');
      expect(t.bed.stats().delivered, 'messages pulled').toBe(0);
    } finally {
      if (running()) child.kill('SIGKILL');
      await gate.close();
    }
  }, 120_000);

  it('takes the signals over before it opens anything: a stop asked at once ends the start before InfluxDB or Pub/Sub is used', async () => {
    const t = await testbed();
    await t.bed.publishWindow(makeWindow());
    const gate = await influxGate(t.config().influx.url, true);
    const configFile = join(dir, `${t.database}-at-once.json`);
    writeFileSync(configFile, JSON.stringify(t.config({ influx: { url: gate.url }, model: { registryDir: join(dir, `${t.database}-at-once`) } })));
    const errors: string[] = [];
    const influxConnectionsAtWait: number[] = [];
    try {
      const code = await runProcessorCli(['--config', configFile], {
        out: () => undefined,
        err: (line) => errors.push(line),
        waitForStop: () => {
          influxConnectionsAtWait.push(gate.connections());
          return Promise.resolve('SIGINT');
        },
      });
      expect(code, errors.join('\n')).toBe(0);
      expect(influxConnectionsAtWait).toEqual([0]);
      expect(errors).toEqual(['SIGINT: stopped during start-up, before pulling from Pub/Sub']);
      expect(gate.connections()).toBe(0);
      expect(t.bed.stats().delivered).toBe(0);
    } finally {
      await gate.close();
    }
  }, 60_000);
});
