// Runs a `pdm` sub-command (the built CLI, as an operator runs it) as a child process that a fault
// test or a benchmark can SIGKILL: waits for its start-up line, keeps its output for the failure
// message, and kills whatever is still running when the parent process exits.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The `pdm` binary as @pdm/cli declares it (`bin`), wherever npm installed the package. */
export const PDM_BIN = (() => {
  const manifest = createRequire(import.meta.url).resolve('@pdm/cli/package.json');
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: { pdm: string } };
  return join(dirname(manifest), bin.pdm);
})();
/** Output kept per process: enough for every log line a test looks for, bounded for a runaway log. */
const MAX_OUTPUT_CHARS = 4_000_000;

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface PdmProcess {
  readonly name: string;
  readonly pid: number;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** The first match of `pattern` in the output, waiting for it at most timeoutMs. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a graceful stop); resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** `nodeFlags`: flags for node itself, before the `pdm` script (as a container's ENTRYPOINT gives them). */
export function startPdm(name: string, args: string[], ready: RegExp, timeoutMs = 60_000, nodeFlags: readonly string[] = []): Promise<PdmProcess> {
  return startProgram(name, process.execPath, [...nodeFlags, PDM_BIN, ...args], ready, timeoutMs);
}

/** As startPdm, for any executable (e.g. a `pdm` installed from the package tarball). */
export async function startProgram(name: string, command: string, args: string[], ready: RegExp, timeoutMs = 60_000): Promise<PdmProcess> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  running.add(child);
  let text = '';
  const waiters: Array<() => void> = [];
  const append = (chunk: Buffer) => {
    text = (text + chunk.toString()).slice(-MAX_OUTPUT_CHARS);
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      for (const wake of waiters.splice(0)) wake();
      resolve(code);
    }),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;

  const handle: PdmProcess = {
    name,
    pid: child.pid ?? -1,
    output: () => text,
    alive,
    async waitForOutput(pattern, waitMs) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const match = pattern.exec(text);
        if (match) return match;
        if (!alive()) throw new Error(`${name} exited (code ${child.exitCode}, signal ${child.signalCode}) before printing ${pattern}:\n${text.slice(-4000)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${name} did not print ${pattern} within ${waitMs} ms:\n${text.slice(-4000)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => (clearTimeout(timer), resolve()));
        });
      }
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (alive()) child.kill('SIGTERM');
      return exited;
    },
  };
  try {
    await handle.waitForOutput(ready, timeoutMs);
  } catch (error) {
    await handle.kill();
    throw error;
  }
  return handle;
}
