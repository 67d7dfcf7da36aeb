// Helpers for test suites: an influxd per suite in a throw-away folder under the repository's .data/,
// and a fresh database per test.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningInflux, startInflux } from './influxd.js';

/** The repository root (the folder holding nx.json) above this module, if there is one. */
function repositoryRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    dir = dirname(dir);
  }
  return undefined;
}

/** A new empty folder under `<repo>/.data/test/` (or the OS temp dir outside a checkout). */
export function makeTestDataDir(prefix: string): string {
  const root = repositoryRoot();
  const parent = root ? join(root, '.data', 'test') : tmpdir();
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, `${prefix}-`));
}

/** Starts an influxd whose data folder is deleted when it stops, with `settings` (INFLUXDB_<SECTION>_<KEY>: value) over its config. */
export function startTestInflux(settings?: Record<string, string>): Promise<RunningInflux> {
  return startInflux({ dataDir: makeTestDataDir('influxdb'), ephemeral: true, settings });
}

/** A database name no other test uses, e.g. `test_sink_3f9a1c2b`. */
export function uniqueDatabaseName(prefix = 'test'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Whether something accepts TCP connections on this port of 127.0.0.1. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
