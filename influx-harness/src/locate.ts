// Finds the influxd binary, installing Debian's package when allowed (root on Debian/Ubuntu).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const INSTALL_HINT =
  'Install InfluxDB 1.x: `sudo apt-get update && sudo apt-get install -y influxdb influxdb-client` ' +
  '(Debian/Ubuntu), or set INFLUXD_PATH to an influxd 1.x binary.';

export class InfluxdNotFoundError extends Error {
  constructor(detail: string) {
    super(`influxd not found: ${detail}. ${INSTALL_HINT}`);
    this.name = 'InfluxdNotFoundError';
  }
}

export interface LocateOptions {
  /** Install the Debian package when influxd is missing and we are root on Debian/Ubuntu. */
  autoInstall?: boolean;
  /** Receives progress lines (e.g. "installing influxdb with apt-get"). */
  log?: (line: string) => void;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/usr/sbin', '/usr/local/bin']);
  return dirs.map((dir) => join(dir, 'influxd')).find(isExecutable);
}

export function canAutoInstall(): boolean {
  return process.getuid?.() === 0 && existsSync('/etc/debian_version') && findAptGet() !== undefined;
}

function findAptGet(): string | undefined {
  return ['/usr/bin/apt-get', '/bin/apt-get'].find(isExecutable);
}

function aptInstall(log: (line: string) => void): void {
  const aptGet = findAptGet();
  if (aptGet === undefined) throw new InfluxdNotFoundError('apt-get is not available');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log('influxd is missing: installing Debian packages influxdb influxdb-client (apt-get)…');
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'influxdb', 'influxdb-client']]) {
    const result = spawnSync(aptGet, args, { env, encoding: 'utf8' });
    if (result.status !== 0) {
      throw new InfluxdNotFoundError(`apt-get ${args.join(' ')} failed: ${(result.stderr || result.stdout).trim()}`);
    }
  }
}

/** Returns the path of influxd: $INFLUXD_PATH, then PATH; installs it when allowed and missing. */
export function locateInfluxd(options: LocateOptions = {}): string {
  const explicit = process.env.INFLUXD_PATH;
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new InfluxdNotFoundError(`INFLUXD_PATH=${explicit} is not an executable file`);
  }
  const found = findOnPath();
  if (found) return found;
  const autoInstall = options.autoInstall ?? canAutoInstall();
  if (!autoInstall) throw new InfluxdNotFoundError('it is not on PATH');
  aptInstall(options.log ?? (() => {}));
  const installed = findOnPath();
  if (!installed) throw new InfluxdNotFoundError('apt-get finished but influxd is still not on PATH');
  return installed;
}
