// One processor of the processor soak (processor-soak.ts), as `pdm processor --config FILE` runs it
// (runProcessorCli: the same start, the same heap settings), plus a sample of where its memory is every
// SAMPLE_MS, written to standard error as `soak-sample {json}`: RSS (anonymous and file-backed), the V8
// heap by space (committed and used), and what lies outside it (external, ArrayBuffers).
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
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
const stop = new Promise<NodeJS.Signals>((resolve) => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve(signal));
});
process.exitCode = await runProcessorCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  waitForStop: () => stop,
});
