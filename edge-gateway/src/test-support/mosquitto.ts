// A real Debian mosquitto broker for bridge tests, standing in for a plant's own broker: a free port on
// 127.0.0.1, anonymous access unless told otherwise (or TLS, a password file), persistence in a throw-away folder (so a restart keeps the sessions and
// the messages queued for them), and `mosquitto_pub` devices as child processes.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, makeTestDataDir } from '@pdm/influx-harness';

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  /** Publishes one message with mosquitto_pub (QoS 1 by default); resolves once it exited successfully. */
  publish(topic: string, message: string, options?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  /** Makes the running broker read its password file again (SIGHUP). */
  reload(): void;
  /** Stops the broker with SIGTERM (it saves its sessions) and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the broker and deletes its folder. */
  close(): Promise<void>;
}

const MOSQUITTO = '/usr/sbin/mosquitto';

async function untilListening(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface MosquittoOptions {
  /** mosquitto.conf lines for the listener beyond its port: TLS files, a password file. */
  listener?: readonly string[];
  /** Default true. */
  allowAnonymous?: boolean;
  /** mosquitto_pub arguments every device adds: credentials, --cafile. */
  publishArgs?: readonly string[];
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = makeTestDataDir('mosquitto');
  const port = await freePort();
  const configFile = join(dir, 'mosquitto.conf');
  writeFileSync(
    configFile,
    [
      `listener ${port} 127.0.0.1`,
      ...(options.listener ?? []),
      `allow_anonymous ${options.allowAnonymous ?? true}`,
      'persistence true',
      `persistence_location ${dir}/`,
      // Run as whoever runs the test (as root, mosquitto would switch to a user "mosquitto").
      `user ${userInfo().username}`,
      'log_dest none',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    child = spawn(MOSQUITTO, ['-c', configFile], { stdio: 'ignore' });
    await untilListening(port, child);
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    await exited;
  }

  await start();
  return {
    port,
    url: `${options.listener?.some((line) => line.startsWith('certfile')) ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    publish: (topic, message, { qos = 1, retain = false } = {}) =>
      new Promise<void>((resolve, reject) => {
        const args = ['-h', '127.0.0.1', '-p', String(port), ...(options.publishArgs ?? []), '-q', String(qos), '-t', topic, '-m', message, ...(retain ? ['-r'] : [])];
        // Asynchronous: the gateway under test runs in this process and must keep serving meanwhile.
        execFile('mosquitto_pub', args, { timeout: 10_000 }, (error, _stdout, stderr) => (error ? reject(new Error(`mosquitto_pub failed: ${stderr || error.message}`)) : resolve()));
      }),
    reload: () => child?.kill('SIGHUP'),
    async restart() {
      await stop();
      await start();
    },
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
