// A gateway run as its own process (dist/bin.js, what `pdm gateway` runs) against a Pub/Sub emulator,
// with its standard output and standard error kept apart, for tests of signals and output streams.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { freePort } from '@pdm/influx-harness';
import { PROJECT, uniqueId } from '@pdm/pubsub-emulator/testing';

export const GATEWAY_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bin.js');

export interface GatewayProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly mqttPort: number;
  readonly httpPort: number;
  stdout(): string;
  stderr(): string;
  /** The /metrics text. */
  metrics(): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Writes `dir`/gateway.json: MQTT and HTTP on free ports, an outbox in `dir`, the emulator at
 * `emulatorEndpoint`, then `config` (its mqtt keys merged into those).
 */
export async function writeGatewayConfig(dir: string, emulatorEndpoint: string, config: Record<string, unknown> = {}): Promise<{ configFile: string; mqttPort: number; httpPort: number }> {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const { mqtt, ...rest } = config as { mqtt?: Record<string, unknown> };
  const configFile = join(dir, 'gateway.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      mqtt: { host: '127.0.0.1', port: mqttPort, ...mqtt },
      http: { host: '127.0.0.1', port: httpPort },
      outbox: { path: join(dir, 'outbox.sqlite') },
      pubsub: { projectId: PROJECT, topic: uniqueId('gateway-process'), emulatorHost: emulatorEndpoint, createTopic: true },
      ...rest,
    }),
  );
  return { configFile, mqttPort, httpPort };
}

/** Starts `node dist/bin.js --config <file> ...args` on writeGatewayConfig's file; resolves once its start banner names the operations endpoint. */
export async function startGatewayProcess(dir: string, emulatorEndpoint: string, config: Record<string, unknown> = {}, args: string[] = []): Promise<GatewayProcess> {
  if (!existsSync(GATEWAY_BIN)) throw new Error(`${GATEWAY_BIN} is missing: the test target builds it first (npx nx run @pdm/edge-gateway:test)`);
  const { configFile, mqttPort, httpPort } = await writeGatewayConfig(dir, emulatorEndpoint, config);
  const child = spawn(process.execPath, [GATEWAY_BIN, '--config', configFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  // 'close', not 'exit': only then has everything the process wrote been read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('operations')) resolve();
    });
    void exited.then((code) => reject(new Error(`gateway exited with ${code} before it was ready:\n${stdout}\n${stderr}`)));
  });
  return {
    child,
    mqttPort,
    httpPort,
    stdout: () => stdout,
    stderr: () => stderr,
    metrics: async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text(),
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
