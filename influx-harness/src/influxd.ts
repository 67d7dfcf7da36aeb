// Starts and stops a project-managed influxd: free loopback ports, state under one folder, readiness
// via /ping, a pidfile so a process orphaned by a crashed run is reaped on the next start, and a kill
// on process exit so a failing test run leaves nothing behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { renderInfluxdConfig } from './config.js';
import { locateInfluxd } from './locate.js';

export interface StartInfluxOptions {
  /** Folder for meta/data/wal, the generated config, the pidfile and influxd.log. Created if missing. */
  dataDir: string;
  /** HTTP port on 127.0.0.1; omitted or 0 picks a free one. */
  port?: number;
  /** Install Debian's influxdb package when influxd is missing (default: only as root on Debian/Ubuntu). */
  autoInstall?: boolean;
  /** How long to wait for /ping to answer. Default 30 s. */
  startTimeoutMs?: number;
  /** Delete dataDir when stopped (for tests). Default false. */
  ephemeral?: boolean;
  /**
   * Runs influxd in a process group (and session) of its own, so that a terminal's Ctrl-C, which goes
   * to the whole foreground group, does not reach it: the caller stops it, after whatever still writes
   * to it. The caller then has to take SIGINT/SIGTERM over: a process ended by a signal's default runs
   * no exit hook, and influxd would run on until the next start reaps it through the pidfile.
   * Default false.
   */
  ownProcessGroup?: boolean;
  /** influxd settings over the generated config, as influxd reads them from its environment: INFLUXDB_<SECTION>_<KEY>. */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}

export interface RunningInflux {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:34567 */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number;
  /** Runs an InfluxQL statement through the HTTP API and returns the parsed JSON response. */
  query(statement: string, database?: string): Promise<InfluxQueryResponse>;
  createDatabase(name: string): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves when influxd exits, for whatever reason, with its exit code (null: ended by a signal). */
  readonly exited: Promise<number | null>;
}

export interface InfluxQueryResponse {
  results: Array<{
    statement_id: number;
    error?: string;
    series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }>;
  }>;
  error?: string;
}

export class InfluxdStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InfluxdStartError';
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Listens on `port` of 127.0.0.1 (0: any free one) and lets it go again; the port it got. */
async function bindAndRelease(port: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not allocate a port');
  return address.port;
}

export function freePort(): Promise<number> {
  return bindAndRelease(0);
}

/** The config file influxd is started with, in its data folder. */
const configFileOf = (dataDir: string) => join(dataDir, 'influxdb.conf');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The command line of a live process, '' when it cannot be read. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Kills an influxd left running on this data folder by a run that died before it could stop it. The
 * pidfile holds the influxd's pid and its starter's: while that starter (another node process) lives,
 * the folder is in use and nothing is killed.
 */
async function reapOrphan(pidFile: string, configFile: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(pidFile)) return;
  const [pid = NaN, owner = NaN] = readFileSync(pidFile, 'utf8').trim().split(/\s+/).map(Number);
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner) && commandLine(owner).includes('node') && isAlive(pid)) {
    throw new InfluxdStartError(
      `the InfluxDB data folder ${dirname(pidFile)} is in use: its influxd (pid ${pid}) belongs to a run still going (pid ${owner}); stop that one first or use another data folder (delete ${pidFile} if pid ${owner} is no such run)`,
    );
  }
  unlinkSync(pidFile);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const cmdline = commandLine(pid);
  // Only the influxd of this folder's config: a pid reused by another program is left alone.
  if (!cmdline.includes('influxd') || !cmdline.includes(configFile)) return;
  log(`stopping influxd (pid ${pid}) left running on this data folder by an earlier run`);
  process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await delay(20);
}

/** What influxd wrote to its log since `offset`, at most the last `maxBytes`. */
function logSince(file: string, offset: number, maxBytes = 4096): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const start = Math.max(offset, size - maxBytes);
  const buffer = Buffer.alloc(Math.max(0, size - start));
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, start);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('utf8');
}

/**
 * Refuses a port another program listens on before influxd is started there: another InfluxDB would
 * answer /ping for the one that failed to bind. The error carries the port and EADDRINUSE, so a
 * caller can name the flag that moves it.
 */
async function ensurePortFree(port: number): Promise<void> {
  try {
    await bindAndRelease(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw Object.assign(new InfluxdStartError(`port ${port} is already in use by another program: influxd cannot listen there`), { code: 'EADDRINUSE', port });
  }
}

async function ping(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    return response.status === 204;
  } catch {
    return false;
  }
}

interface Attempt {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

async function launch(binary: string, options: StartInfluxOptions, logFile: string): Promise<Attempt> {
  const port = options.port || (await freePort());
  const rpcPort = await freePort();
  const configFile = configFileOf(options.dataDir);
  writeFileSync(configFile, renderInfluxdConfig({ dataDir: options.dataDir, httpPort: port, rpcPort }));
  const logFd = openSync(logFile, 'a');
  const child = spawn(binary, ['-config', configFile], {
    stdio: ['ignore', logFd, logFd],
    detached: options.ownProcessGroup ?? false,
    env: { ...process.env, ...options.settings },
  });
  closeSync(logFd);
  running.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
    child.once('error', () => {
      running.delete(child);
      resolve(null);
    });
  });
  return { child, port, exited };
}

async function waitReady(attempt: Attempt, url: string, timeoutMs: number): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void attempt.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) return 'exited';
    if (await ping(url)) return 'ready';
    await delay(50);
  }
  return 'timeout';
}

/** Starts influxd on loopback and resolves once /ping answers. */
export async function startInflux(options: StartInfluxOptions): Promise<RunningInflux> {
  const log = options.log ?? (() => {});
  const binary = locateInfluxd({ autoInstall: options.autoInstall, log });
  mkdirSync(options.dataDir, { recursive: true });
  const pidFile = join(options.dataDir, 'influxd.pid');
  const logFile = join(options.dataDir, 'influxd.log');
  await reapOrphan(pidFile, configFileOf(options.dataDir), log);
  killAllOnExit();
  if (options.port) await ensurePortFree(options.port);

  // An automatically chosen port can be taken between choosing and binding; try a few.
  const attempts = options.port ? 1 : 3;
  for (let i = 1; ; i++) {
    const logOffset = existsSync(logFile) ? statSync(logFile).size : 0;
    const attempt = await launch(binary, options, logFile);
    const url = `http://127.0.0.1:${attempt.port}`;
    const outcome = await waitReady(attempt, url, options.startTimeoutMs ?? 30_000);
    if (outcome === 'ready') {
      writeFileSync(pidFile, `${attempt.child.pid} ${process.pid}`);
      log(`influxd ${attempt.child.pid} ready at ${url} (data in ${options.dataDir})`);
      return handleFor(attempt, url, options, pidFile);
    }
    attempt.child.kill('SIGKILL');
    await attempt.exited;
    const output = logSince(logFile, logOffset);
    const portTaken = /address already in use/.test(output);
    if (portTaken && i < attempts) continue;
    if (options.ephemeral) rmSync(options.dataDir, { recursive: true, force: true });
    const why = outcome === 'timeout' ? `did not answer /ping within ${options.startTimeoutMs ?? 30_000} ms` : 'exited during start-up';
    throw new InfluxdStartError(`influxd ${why} (port ${attempt.port}, log ${logFile}):\n${output.trim()}`);
  }
}

function handleFor(attempt: Attempt, url: string, options: StartInfluxOptions, pidFile: string): RunningInflux {
  let stopping: Promise<void> | undefined;

  async function query(statement: string, database?: string): Promise<InfluxQueryResponse> {
    const body = new URLSearchParams({ q: statement, epoch: 'ms' });
    if (database) body.set('db', database);
    const response = await fetch(`${url}/query`, { method: 'POST', body });
    const json = (await response.json()) as InfluxQueryResponse;
    const error = json.error ?? json.results.find((r) => r.error)?.error;
    if (!response.ok || error) throw new Error(`InfluxQL \`${statement}\` failed: ${error ?? response.statusText}`);
    return json;
  }

  async function stop(): Promise<void> {
    const { child, exited } = attempt;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(forced);
    }
    rmSync(pidFile, { force: true });
    if (options.ephemeral) rmSync(options.dataDir, { recursive: true, force: true });
  }

  return {
    url,
    host: '127.0.0.1',
    port: attempt.port,
    dataDir: options.dataDir,
    pid: attempt.child.pid ?? -1,
    query,
    createDatabase: async (name) => void (await query(`CREATE DATABASE ${JSON.stringify(name)}`)),
    dropDatabase: async (name) => void (await query(`DROP DATABASE ${JSON.stringify(name)}`)),
    stop: () => (stopping ??= stop()),
    exited: attempt.exited,
  };
}
