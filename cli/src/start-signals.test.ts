// `pdm start` and real signals, as a terminal and a service manager send them: the built `pdm`
// (cli/bin/pdm.js) in a process group of its own, as a shell runs a foreground job.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const PDM_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'pdm.js');
const ANY_PORT = ['--influx-port', '0', '--mqtt-port', '0', '--pubsub-port', '0', '--gateway-http-port', '0', '--processor-http-port', '0'];
const dataDir = makeTestDataDir('pdm-start-signals');
const influxPidFile = join(dataDir, 'influxdb', 'influxd.pid');

interface Run {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the output matches `pattern`; rejects when the run ends first. */
  waitFor: (pattern: RegExp) => Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: Run[] = [];

function startPdm(): Run {
  const child = spawn(process.execPath, [PDM_BIN, 'start', '--data-dir', dataDir, '--no-simulator', ...ANY_PORT], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let ended = false;
  void exited.then(() => (ended = true));
  const waitFor = async (pattern: RegExp) => {
    for (let match = pattern.exec(text); ; match = pattern.exec(text)) {
      if (match) return match;
      if (ended) throw new Error(`pdm start ended before printing ${pattern}:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const run = { child, output: () => text, waitFor, exited };
  runs.push(run);
  return run;
}

/** Whether `pid` runs: a zombie (killed, not yet reaped by whoever adopted it) does not. */
function isAlive(pid: number): boolean {
  const stat = join('/proc', String(pid), 'stat');
  return existsSync(stat) && !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
}

/** Whether `pid` has ended within a few seconds (a kill takes effect a moment after it is sent). */
async function hasEnded(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 100 && isAlive(pid); attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
  return !isAlive(pid);
}

function processGroupOf(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
}

afterEach(() => {
  // A failed test must not leave its stack behind: the run's group, then its own influxd's.
  for (const { child } of runs.splice(0)) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  if (existsSync(influxPidFile)) {
    const influxPid = Number(readFileSync(influxPidFile, 'utf8').split(' ')[0]);
    if (isAlive(influxPid)) process.kill(influxPid, 'SIGKILL');
  }
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('pdm start and signals', () => {
  it('stops what it started when SIGTERM comes during start-up, InfluxDB included', async () => {
    const run = startPdm();
    const influxPid = Number((await run.waitFor(/influxd (\d+) ready/))[1]);
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.output()).toMatch(/SIGTERM during start-up: stopping…\nstopped cleanly\.\n$/);
    expect(run.output()).not.toMatch(/Local stack running/);
    expect(await hasEnded(influxPid)).toBe(true);
    expect(existsSync(influxPidFile)).toBe(false);
  }, 60_000);

  it("keeps InfluxDB out of the terminal's Ctrl-C, which goes to the whole group, and stops it last", async () => {
    const run = startPdm();
    await run.waitFor(/Press Ctrl-C to stop\./);
    const influxPid = Number(readFileSync(influxPidFile, 'utf8').split(' ')[0]);
    expect(processGroupOf(influxPid)).not.toBe(processGroupOf(run.child.pid!));
    // As a terminal sends Ctrl-C: to every process of the foreground group.
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.output()).toMatch(/SIGINT: stopping…\nstopped cleanly\.\n$/);
    expect(await hasEnded(influxPid)).toBe(true);
  }, 120_000);

  it('stops as Ctrl-C does when the terminal closes (SIGHUP), and exits at once on a second signal, InfluxDB killed with it', async () => {
    const hungUp = startPdm();
    await hungUp.waitFor(/Press Ctrl-C to stop\./);
    hungUp.child.kill('SIGHUP');
    expect(await hungUp.exited).toEqual({ code: 0, signal: null });
    expect(hungUp.output()).toMatch(/SIGHUP: stopping…\nstopped cleanly\.\n$/);

    // The second signal while the first one's stop runs (a stop with nothing in flight takes a
    // fraction of a second: both are sent at once, a Ctrl-C and a SIGTERM, which the kernel does not
    // merge). Which of the two node handles first is not fixed: the other one is the second.
    const impatient = startPdm();
    await impatient.waitFor(/Press Ctrl-C to stop\./);
    const influxPid = Number(readFileSync(influxPidFile, 'utf8').split(' ')[0]);
    impatient.child.kill('SIGINT');
    impatient.child.kill('SIGTERM');
    const { code, signal } = await impatient.exited;
    const second = /(SIGINT|SIGTERM) while stopping: exiting at once/.exec(impatient.output())?.[1];
    expect(second).toBeDefined();
    expect(impatient.output()).toMatch(new RegExp(`${second === 'SIGINT' ? 'SIGTERM' : 'SIGINT'}: stopping…`));
    expect({ code, signal }).toEqual({ code: 128 + (second === 'SIGINT' ? 2 : 15), signal: null });
    expect(impatient.output()).not.toMatch(/stopped cleanly/);
    expect(await hasEnded(influxPid)).toBe(true);
  }, 120_000);
});
