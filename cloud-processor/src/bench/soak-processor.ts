// One processor of the processor soak (processor-soak.ts), as `pdm processor --config FILE` runs it
// (runProcessorCli: the same start, the same heap settings), plus a sample of where its memory is every
// SAMPLE_MS, written to standard error as `soak-sample {json}`: RSS (anonymous and file-backed), the V8
// heap by space (committed and used), and what lies outside it (external, ArrayBuffers). A line
// `heap-snapshot PATH` on standard input writes a V8 heap snapshot there (SOAK_HEAP_SNAPSHOTS), answered
// on standard error with `soak-snapshot {json}` (the path and how long the process stood for it).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { runProcessorCli } from '../cli.js';

const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_MS ?? 2_000);

/** RssAnon and RssFile of /proc/self/status, bytes. */
function rssParts(): { rssAnon: number; rssFile: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rssAnon: kb('RssAnon'), rssFile: kb('RssFile') };
}

function sample(): void {
  const memory = process.memoryUsage();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
  process.stderr.write(`soak-sample ${JSON.stringify({ at: Date.now(), ...memory, ...rssParts(), spaces })}\n`);
}

setInterval(sample, SAMPLE_MS).unref();
const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  if (!line.startsWith('heap-snapshot ')) return;
  const began = performance.now();
  const path = writeHeapSnapshot(line.slice('heap-snapshot '.length));
  process.stderr.write(`soak-snapshot ${JSON.stringify({ path, ms: Math.round(performance.now() - began) })}\n`);
});
const stop = new Promise<NodeJS.Signals>((resolve) => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve(signal));
});
process.exitCode = await runProcessorCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  waitForStop: () => stop,
});
// Standard input open would keep the process alive.
commands.close();
process.stdin.destroy();
