// `pdm gateway` never returns with the gateway still running: a gateway left up after the command
// returned an error kept the process alive and serving, and the first SIGTERM went to a stop listener
// no one awaited any more.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, listening, makeTestDataDir } from '@pdm/influx-harness';
import { type TestEmulator, startTestEmulator } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CliIo, runGatewayCli } from './cli.js';
import { Users, hashPassword } from './mqtt/index.js';

const dir = makeTestDataDir('gateway-cli-stop');
let pubsub: TestEmulator;
beforeAll(async () => (pubsub = await startTestEmulator()));
afterAll(async () => {
  await pubsub.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A gateway configuration on free ports, with a users file of one password user. */
async function gatewayFiles(name: string): Promise<{ configFile: string; usersFile: string; mqttPort: number; httpPort: number }> {
  const usersFile = join(dir, `${name}-users.yaml`);
  writeFileSync(usersFile, ['users:', '  - username: plc-1', `    passwordHash: "${await hashPassword('pw', { N: 1024, r: 8, p: 1 })}"`].join('\n'));
  const mqttPort = await freePort();
  const httpPort = await freePort();
  const configFile = join(dir, `${name}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      mqtt: { host: '127.0.0.1', port: mqttPort, usersFile },
      http: { host: '127.0.0.1', port: httpPort },
      outbox: { path: join(dir, name, 'outbox.sqlite') },
      pubsub: { emulatorHost: pubsub.emulator.endpoint, createTopic: true },
      log: { level: 'silent' },
    }),
  );
  return { configFile, usersFile, mqttPort, httpPort };
}

/** Standard error in `errors`, a stop never asked, and whether the reload subscription was ended. */
function cliIo(err?: (line: string) => void): CliIo & { errors: string[]; reloadUnsubscribed: () => boolean } {
  const errors: string[] = [];
  let unsubscribed = false;
  return {
    errors,
    reloadUnsubscribed: () => unsubscribed,
    out: () => undefined,
    err: (line) => {
      err?.(line);
      errors.push(line);
    },
    waitForStop: () => new Promise(() => {}),
    onReloadRequest: () => () => (unsubscribed = true),
  };
}

describe('pdm gateway, when something fails around the start', () => {
  it('exits 2 with nothing left running when the users file turns invalid after its first read', async () => {
    const { configFile, usersFile, mqttPort, httpPort } = await gatewayFiles('users-file-breaks');
    const load = Users.load.bind(Users);
    const reads = vi.spyOn(Users, 'load').mockImplementation((path) => {
      const users = load(path);
      writeFileSync(path, 'users: [');
      return users;
    });
    try {
      const io = cliIo();
      expect(await runGatewayCli(['--config', configFile], io)).toBe(2);
      expect(reads).toHaveBeenCalledTimes(2);
      expect(io.errors.join('\n')).toContain(`pdm gateway: mqtt.usersFile: cannot read users file ${usersFile}:`);
      expect(await listening(mqttPort), 'the MQTT listener is still open').toBe(false);
      expect(await listening(httpPort), 'the operations endpoint is still open').toBe(false);
      expect(io.reloadUnsubscribed()).toBe(true);
    } finally {
      reads.mockRestore();
    }
  });

  it('stops the gateway it started when a later step throws (standard error breaking under the banner)', async () => {
    const { configFile, mqttPort, httpPort } = await gatewayFiles('stderr-breaks');
    const io = cliIo((line) => {
      if (line.startsWith('  operations')) throw new Error('write EPIPE');
    });
    expect(await runGatewayCli(['--config', configFile], io)).toBe(1);
    expect(io.errors).toContain('pdm gateway: write EPIPE');
    expect(await listening(mqttPort), 'the MQTT listener is still open').toBe(false);
    expect(await listening(httpPort), 'the operations endpoint is still open').toBe(false);
    expect(io.reloadUnsubscribed()).toBe(true);
  });
});
