// A stop or a reload asked while the gateway starts (the Pub/Sub connection and the restore take
// seconds; a `systemctl reload` then used to kill it, SIGHUP's default): `pdm gateway` takes both over
// before it opens anything, applies the reload once it is up, and stops it gracefully.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { startTestEmulator } from '@pdm/pubsub-emulator/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runGatewayCli } from './cli.js';

const dir = makeTestDataDir('gateway-cli-signals');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pdm gateway and signals during its start', () => {
  it('takes a reload and a stop asked before the start over, and applies them once the gateway is up', async () => {
    const pubsub = await startTestEmulator();
    try {
      const config = (name: string) => {
        const file = join(dir, `${name}.json`);
        const outbox = join(dir, name, 'outbox.sqlite');
        writeFileSync(
          file,
          JSON.stringify({
            mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true },
            http: { host: '127.0.0.1', port: 0 },
            outbox: { path: outbox },
            pubsub: { emulatorHost: pubsub.emulator.endpoint, createTopic: true },
            log: { level: 'silent' },
          }),
        );
        return { file, outbox };
      };

      // A reload asked before anything is opened: applied (and counted) once the gateway is up.
      const reloading = config('reload');
      const errors: string[] = [];
      const subscribedBeforeStart: boolean[] = [];
      let stop: (signal: NodeJS.Signals) => void = () => undefined;
      const running = runGatewayCli(['--config', reloading.file], {
        out: () => undefined,
        err: (line) => errors.push(line),
        waitForStop: () => {
          subscribedBeforeStart.push(!existsSync(reloading.outbox));
          return new Promise((resolve) => (stop = resolve));
        },
        onReloadRequest: (reload) => {
          subscribedBeforeStart.push(!existsSync(reloading.outbox));
          reload();
          return () => undefined;
        },
      });
      const deadline = Date.now() + 20_000;
      let operations: RegExpExecArray | null = null;
      while (!(operations = /operations {2}(http:\/\/\S+\/metrics)/.exec(errors.join('\n')))) {
        if (Date.now() > deadline) throw new Error(`the gateway did not start:\n${errors.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(subscribedBeforeStart).toEqual([true, true]);
      expect(await (await fetch(operations[1]!)).text()).toContain('pdm_gateway_reload_total{result="ok"} 1');
      stop('SIGTERM');
      expect(await running).toBe(0);

      // A stop asked before anything is opened: the gateway starts, then stops gracefully (exit 0).
      const stopping = config('stop');
      const stopErrors: string[] = [];
      let stopAskedBeforeStart = false;
      const code = await runGatewayCli(['--config', stopping.file], {
        out: () => undefined,
        err: (line) => stopErrors.push(line),
        waitForStop: () => {
          stopAskedBeforeStart = !existsSync(stopping.outbox);
          return Promise.resolve('SIGTERM');
        },
        onReloadRequest: () => () => undefined,
      });
      expect(code).toBe(0);
      expect(stopAskedBeforeStart).toBe(true);
      expect(stopErrors.join('\n')).toContain('SIGTERM: stopping the gateway');
      expect(existsSync(stopping.outbox)).toBe(true);
    } finally {
      await pubsub.close();
    }
  });
});
