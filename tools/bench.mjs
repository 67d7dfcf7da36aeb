#!/usr/bin/env node
// `npm run bench`: runs every benchmark script one after another (they would disturb each other in
// parallel), shows their output live, and writes bench-results.md (not in git): the machine they ran
// on, then each script's own figures and ratios. BENCHMARKS.md is the curated record — runs of many
// days with what they say and where the time goes — which a run must not overwrite: copy the sections
// worth keeping into it by hand. Exits non-zero if any benchmark failed; the file says which.
// `npm run bench -- NAME…` runs only the named benchmarks (gateway, window, boundary, …) and writes no file.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

const BENCHMARKS = [
  { name: 'gateway', title: 'Edge gateway vs bare aedes', workspace: '@pdm/edge-gateway', script: 'bench' },
  { name: 'window', title: 'Window engine alone', workspace: '@pdm/edge-gateway', script: 'bench:window' },
  { name: 'boundary', title: 'Window boundary: 1,000 machines close at once, FeatureBatch vs one message per machine', workspace: '@pdm/edge-gateway', script: 'bench:boundary' },
  { name: 'integration', title: 'Plant integration: bridge from mosquitto at QoS 1, Sparkplug B vs SensorBatch', workspace: '@pdm/edge-gateway', script: 'bench:integration' },
  { name: 'emulator', title: 'Pub/Sub emulator', workspace: '@pdm/pubsub-emulator', script: 'bench' },
  { name: 'codecs', title: 'Protobuf codecs: hand-written vs @bufbuild/protobuf', workspace: '@pdm/proto', script: 'bench' },
  { name: 'processor', title: 'Cloud processor: decode, score, sink', workspace: '@pdm/cloud-processor', script: 'bench' },
  { name: 'model', title: 'Anomaly model alone', workspace: '@pdm/cloud-processor', script: 'bench:model' },
  { name: 'simulator', title: 'Simulator', workspace: '@pdm/simulator', script: 'bench' },
  { name: 'detection', title: 'Detection: SKAB, NAB and the simulated fleet through pdm train / pdm score', workspace: '@pdm/cli', script: 'bench:detection' },
  { name: 'demo', title: 'Live demo: the injected fault alerted within three minutes of pdm start', workspace: '@pdm/cli', script: 'bench:demo' },
  { name: 'end', title: 'End to end: close-to-store latency at 1,000 machines and 5× (5,000), Pub/Sub requests and billed bytes', workspace: '@pdm/scenarios', script: 'bench' },
  { name: 'soak', title: 'End to end soak: 30 minutes at 1,000 machines, gateway and processor RSS', workspace: '@pdm/scenarios', script: 'bench', args: ['--soak-minutes', '30'] },
];

const only = process.argv.slice(2);
const unknown = only.filter((word) => !BENCHMARKS.some((b) => b.name === word));
if (unknown.length > 0) {
  console.error(`npm run bench: no benchmark named ${unknown.join(', ')}; the names are: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
const selected = only.length > 0 ? BENCHMARKS.filter((b) => only.includes(b.name)) : BENCHMARKS;

/** Runs one script, echoing its output; resolves with the output and whether it succeeded. */
function run({ workspace, script, args = [] }) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script, '-w', workspace, ...(args.length > 0 ? ['--', ...args] : [])], {
      cwd: root,
      env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (stream) => (chunk) => {
      stream.write(chunk);
      output += chunk.toString();
    };
    child.stdout.on('data', keep(process.stdout));
    child.stderr.on('data', keep(process.stderr));
    child.once('exit', (code) => resolve({ output: output.trim(), ok: code === 0 }));
  });
}

function git(...args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

const osName = (() => {
  try {
    return /^PRETTY_NAME="?([^"\n]+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? `Linux ${release()}`;
  } catch {
    return `Linux ${release()}`;
  }
})();
const commit = git('rev-parse', '--short', 'HEAD');
const dirty = git('status', '--porcelain') !== '';
const startedAt = new Date();
const machine = [
  `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
  `${Math.round(totalmem() / 2 ** 30)} GiB RAM`,
  osName,
  `Node ${process.version}`,
  `load average ${loadavg().map((l) => l.toFixed(2)).join(' / ')} at start`,
].join(', ');

const sections = [];
let failed = 0;
for (const benchmark of selected) {
  const command = `npm run ${benchmark.script} -w ${benchmark.workspace}${benchmark.args ? ` -- ${benchmark.args.join(' ')}` : ''}`;
  console.log(`\n=== ${benchmark.title} (${command})\n`);
  const started = performance.now();
  const { output, ok } = await run(benchmark);
  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  if (!ok) failed++;
  sections.push(`## ${benchmark.title}\n\n\`${command}\` — ${ok ? `${minutes} min` : `**FAILED** after ${minutes} min`}\n\n${output}\n`);
}

const header = `# Benchmark run

Measured by \`npm run bench\` on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit || 'unknown'}${dirty ? ' with uncommitted changes' : ''}.
Machine: ${machine}.

Each section below is one script's own output. Ratios compare against a baseline measured in the same
run, because these machines are shared and noisy; figures from different runs are not comparable.
To look at one part again: \`npm run bench -- <name>\`, e.g. \`npm run bench -- gateway\` (prints, writes no file; the names: ${BENCHMARKS.map((b) => b.name).join(", ")}).
`;
if (selected === BENCHMARKS) {
  const file = join(root, 'bench-results.md');
  writeFileSync(file, `${header}\n${sections.join('\n')}`);
  console.log(`\nwrote ${file}${failed ? ` (${failed} benchmark${failed > 1 ? 's' : ''} failed)` : ''}; BENCHMARKS.md keeps the curated figures`);
}
process.exit(failed ? 1 : 0);
