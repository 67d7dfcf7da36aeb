// A gateway that cannot start says why and exits: what it had opened before the failure (outbox,
// Pub/Sub client) must not keep the process alive. Run as a child process of the built gateway: a hang
// is killed after a while and fails the test instead of blocking the suite.
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
const dir = makeTestDataDir('gateway-startup');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the built gateway on its MQTT port and outbox path; its exit code (null when it had to be killed) and output. */
async function startGateway(mqttPort: number, outboxPath: string): Promise<{ code: number | null; output: string }> {
  expect(existsSync(bin), `${bin} is missing: the test target builds it first`).toBe(true);
  const configFile = join(dir, 'gateway.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      mqtt: { host: '127.0.0.1', port: mqttPort, allowAnonymous: true },
      http: { host: '127.0.0.1', port: await freePort() },
      outbox: { path: outboxPath },
      pubsub: { projectId: 'startup-test', topic: 'features', emulatorHost: `127.0.0.1:${await freePort()}` },
    }),
  );
  const child = spawn(process.execPath, [bin, '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => {
    // A guard against a hang, not a measure of speed: the gateway fails in well under a second.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 20_000);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  expect(code, `the gateway did not exit within 20 s:\n${output}`).not.toBeNull();
  return { code, output };
}

describe('gateway start-up failure', () => {
  it('exits non-zero naming the taken port instead of hanging', async () => {
    const taken = createServer();
    const mqttPort = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
    try {
      const { code, output } = await startGateway(mqttPort, join(dir, 'outbox.sqlite'));
      expect(code).not.toBe(0);
      expect(output).toMatch(new RegExp(`mqtt\\.port: port ${mqttPort} on 127\\.0\\.0\\.1 is already in use by another program: change mqtt\\.port`));
    } finally {
      taken.close();
    }
  });

  // A configuration error (exit 2, which systemd does not restart in a loop) naming the key, instead
  // of a bare EEXIST (exit 1), or a silent hang ignoring SIGTERM under /proc (Node's recursive mkdir
  // loops there).
  it('exits 2 naming outbox.path when a regular file stands in the way of its folder', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const path = join(file, 'sub', 'outbox.sqlite');
    const { code, output } = await startGateway(await freePort(), path);
    expect(output).toContain(`pdm gateway: outbox.path ${path}: cannot create its folder: ${file} is not a folder`);
    expect(code).toBe(2);
  });

  it('exits 2 naming outbox.path for a folder under /proc, where it used to hang', async () => {
    const path = '/proc/pdm-no-such-folder/outbox.sqlite';
    const { code, output } = await startGateway(await freePort(), path);
    expect(output).toContain(`pdm gateway: outbox.path ${path}: cannot create its folder: ENOENT`);
    expect(code).toBe(2);
  });
});
