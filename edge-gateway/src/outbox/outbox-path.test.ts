// A bad outbox.path stops the gateway at start with exit 2 (a configuration error, which systemd does
// not restart in a loop) and a message naming the key, instead of a bare EEXIST (exit 1), or a silent
// hang that ignores SIGTERM under /proc (Node's recursive mkdir loops there). Run as a child process
// of the built gateway: a hang is killed after a while and fails the test instead of blocking the suite.
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bin.js');
const dir = makeTestDataDir('gateway-outbox-path');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the gateway with `outboxPath` and returns its exit code (null when it had to be killed) and output. */
async function startWith(outboxPath: string): Promise<{ code: number | null; output: string }> {
  const configFile = join(dir, 'gateway.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      mqtt: { host: '127.0.0.1', port: await freePort(), allowAnonymous: true },
      http: { host: '127.0.0.1', port: await freePort() },
      outbox: { path: outboxPath },
      pubsub: { projectId: 'outbox-path-test', topic: 'features', emulatorHost: `127.0.0.1:${await freePort()}` },
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
  return { code, output };
}

describe('gateway with a bad outbox.path', () => {
  it('exits 2 naming outbox.path when a regular file stands in the way of its folder', async () => {
    expect(existsSync(bin), `${bin} is missing: the test target builds it first`).toBe(true);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const path = join(file, 'sub', 'outbox.sqlite');
    const { code, output } = await startWith(path);
    expect(code, `the gateway did not exit within 20 s:\n${output}`).not.toBeNull();
    expect(output).toContain(`pdm gateway: outbox.path ${path}: cannot create its folder: ${file} is not a folder`);
    expect(code).toBe(2);
  });

  it('exits 2 naming outbox.path for a folder under /proc, where it used to hang', async () => {
    expect(existsSync(bin), `${bin} is missing: the test target builds it first`).toBe(true);
    const path = '/proc/pdm-no-such-folder/outbox.sqlite';
    const { code, output } = await startWith(path);
    expect(code, `the gateway did not exit within 20 s:\n${output}`).not.toBeNull();
    expect(output).toContain(`pdm gateway: outbox.path ${path}: cannot create its folder: ENOENT`);
    expect(code).toBe(2);
  });
});
