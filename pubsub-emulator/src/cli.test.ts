// The client's auth library otherwise probes for a GCE metadata server.
process.env['METADATA_SERVER_DETECTION'] ??= 'none';

import { PubSub } from '@google-cloud/pubsub';
import { describe, expect, it } from 'vitest';
import { EMULATOR_USAGE, runEmulatorCli } from './cli.js';

function io(waitForStop: () => Promise<NodeJS.Signals> = () => Promise.resolve('SIGINT')) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), waitForStop } };
}

describe('runEmulatorCli', () => {
  it('returns 2 and names the flag for an unknown flag', async () => {
    const c = io();
    expect(await runEmulatorCli(['--bogus'], c.io)).toBe(2);
    expect(c.err[0]).toMatch(/^pdm pubsub-emulator: .*--bogus/);
  });

  it('returns 2 and names the flag for a bad port', async () => {
    const c = io();
    expect(await runEmulatorCli(['--port', 'eighty'], c.io)).toBe(2);
    expect(c.err[0]).toMatch(/--port must be a port number.*eighty/);
    const d = io();
    expect(await runEmulatorCli(['--admin-port', '70000'], d.io)).toBe(2);
    expect(d.err[0]).toMatch(/--admin-port/);
  });

  it('returns 2 and names the flag for an ordering key batch below 1 or not a whole number', async () => {
    for (const value of ['0', '2.5', 'many']) {
      const c = io();
      expect(await runEmulatorCli(['--ordering-key-batch', value], c.io)).toBe(2);
      expect(c.err).toEqual([`pdm pubsub-emulator: --ordering-key-batch must be a whole number of at least 1, got "${value}"\n\n${EMULATOR_USAGE}`]);
    }
  });

  it('prints usage for --help', async () => {
    const c = io();
    expect(await runEmulatorCli(['--help'], c.io)).toBe(0);
    expect(c.out.join('\n')).toMatch(/--data-dir DIR/);
  });

  it('serves the official client until asked to stop, then returns 0', async () => {
    let stop: (s: NodeJS.Signals) => void = () => {};
    const stopped = new Promise<NodeJS.Signals>((resolve) => (stop = resolve));
    const c = io(() => stopped);
    const exit = runEmulatorCli(['--port', '0', '--admin-port', '0', '--ordering-key-batch', '4'], c.io);
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 5_000;
      const check = () => (c.out.length > 4 ? resolve() : Date.now() > deadline ? reject(new Error('no startup line')) : setTimeout(check, 10));
      check();
    });
    expect(c.out).toContain('  up to 4 messages of an ordering key handed out at once');
    const endpoint = /export PUBSUB_EMULATOR_HOST=(\S+)/.exec(c.out.join('\n'))?.[1] ?? '';
    const pubsub = new PubSub({ projectId: 'cli-test', apiEndpoint: endpoint, emulatorMode: true });
    const [topic] = await pubsub.createTopic('from-cli');
    expect(topic.name).toBe('projects/cli-test/topics/from-cli');
    await pubsub.close();
    stop('SIGTERM');
    expect(await exit).toBe(0);
    expect(c.out.at(-1)).toBe('stopped cleanly.');
  });
});
