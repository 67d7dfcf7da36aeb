// A gateway that cannot start (its MQTT port is taken, say) says why and exits: what it had opened
// before the failure (outbox, Pub/Sub client) must not keep the process alive.
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

describe('gateway start-up failure', () => {
  it('exits non-zero naming the taken port instead of hanging', async () => {
    expect(existsSync(bin), `${bin} is missing: the test target builds it first`).toBe(true);
    const taken = createServer();
    const mqttPort = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
    try {
      const configFile = join(dir, 'gateway.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          mqtt: { host: '127.0.0.1', port: mqttPort, allowAnonymous: true },
          http: { host: '127.0.0.1', port: await freePort() },
          outbox: { path: join(dir, 'outbox.sqlite') },
          pubsub: { projectId: 'startup-test', topic: 'features', emulatorHost: `127.0.0.1:${await freePort()}` },
        }),
      );
      const child = spawn(process.execPath, [bin, '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => {
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
      expect(code).not.toBe(0);
      expect(output).toMatch(new RegExp(`EADDRINUSE.*${mqttPort}`));
    } finally {
      taken.close();
    }
  });
});
