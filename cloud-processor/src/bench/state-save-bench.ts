// Benchmark: CPU and wall time of one save of the scorer's state file for 1,000 robust-t2 machines,
// each with a calibrated online threshold (1,000 peaks), a baseline of 10 features and 64 recent
// decisions (~38 KB of format-2 JSON per machine): format 2 (the whole JSON file encoded and written
// to a temporary file renamed over the old one, as processors before format 3 saved) against format 3
// (state-file.ts: the rows of the machines scored since the previous save, one transaction) with every
// machine, a tenth of them and none scored since; and reading each back on start.
// Run: node dist/bench/state-save-bench.js [folder for the files, default the OS temp folder] (after build).
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initialOnlineThreshold, learnOnlineThreshold } from '../model/online-threshold.js';
import type { BaselineState } from '../model/robust-t2.js';
import { decodeJsonStateFile, emptyScorerState } from '../scoring/state-codec.js';
import { emptyStateSources, StateFile } from '../scoring/state-file.js';
import { encodeFormat2StateFile } from '../test-support/format2-state-file.js';

const MACHINES = 1_000;
const FEATURES = 10;
const RECENT = 64;
const ROUNDS = 5;
const MODEL = { name: 'pump', version: '3', createdAt: '2026-12-05T10:00:00.000Z' };

/** A deterministic uniform (mulberry32). */
function uniform(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

function machineState(next: () => number, online: BaselineState['online']): BaselineState {
  const baseline = (): number[] => Array.from({ length: FEATURES }, () => next() * 100);
  return {
    baseline: baseline(),
    decidedUntil: 1_700_000_640_000,
    recent: Array.from({ length: RECENT }, (_, w) => ({ windowEnd: 1_700_000_000_000 + w * 10_000, baseline: baseline(), threshold: 25.3 })),
    online: structuredClone(online),
  };
}

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Best CPU and wall ms of ROUNDS runs of `run` (after `before`, untimed). */
async function measure(before: () => void, run: () => unknown): Promise<{ cpu: number; wall: number }> {
  let cpu = Infinity;
  let wall = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    before();
    const c0 = cpuMs();
    const w0 = performance.now();
    await run();
    wall = Math.min(wall, performance.now() - w0);
    cpu = Math.min(cpu, cpuMs() - c0);
  }
  return { cpu, wall };
}

async function main(): Promise<void> {
  const next = uniform(7);
  const online = initialOnlineThreshold();
  for (let i = 0; i < 60_000; i++) learnOnlineThreshold(online, { falseAlertsPerDay: 1, floor: 10 }, 10_000, -2 * Math.log(next()), 10);
  const entries = Array.from({ length: MACHINES }, (_, i) => ({ model: MODEL.name, version: MODEL.version, trainedAt: MODEL.createdAt, siteId: 'site-1', machineId: `m-${i}`, state: machineState(next, online) }));
  const dir = await mkdtemp(path.join(process.argv[2] ?? os.tmpdir(), 'pdm-state-bench-'));
  const line = (what: string, { cpu, wall }: { cpu: number; wall: number }, extra = ''): void =>
    console.log(`${what.padEnd(52)} ${cpu.toFixed(0).padStart(6)} ms CPU ${wall.toFixed(0).padStart(6)} ms wall${extra}`);
  try {
    console.log(`${MACHINES} robust-t2 machines (peaks ${online.spot?.peaks.length}, ${FEATURES} features, ${RECENT} recent decisions); best of ${ROUNDS}`);

    const jsonFile = path.join(dir, 'format2.json');
    const state = { ...emptyScorerState(), robustT2: entries };
    line('format 2: encode + write + rename, every machine', await measure(() => undefined, async () => {
      const temporary = `${jsonFile}.tmp`;
      await writeFile(temporary, encodeFormat2StateFile(state, 0), { flush: true });
      await rename(temporary, jsonFile);
    }), `  (${((await stat(jsonFile)).size / 1e6).toFixed(1)} MB)`);
    line('format 2: read + decode', await measure(() => undefined, async () => decodeJsonStateFile(await readFile(jsonFile, 'utf8'))));

    const sources = emptyStateSources();
    sources.robustT2.restore(entries);
    const machines = sources.robustT2.of(MODEL);
    const touch = (count: number) => () => {
      for (let i = 0; i < count; i++) machines.get('site-1', `m-${i}`, () => entries[i]!.state);
    };
    const dbFile = path.join(dir, 'format3.sqlite');
    const stateFile = new StateFile(dbFile);
    touch(MACHINES)();
    stateFile.save(sources, 0); // creates the file
    for (const share of [1, 0.1, 0]) {
      const count = Math.round(share * MACHINES);
      line(`format 3: save, ${count} of ${MACHINES} machines scored since`, await measure(touch(count), () => stateFile.save(sources, 0)));
    }
    stateFile.close();
    const size = (await stat(dbFile)).size;
    line('format 3: open + decode', await measure(() => undefined, () => StateFile.open(dbFile, 0).stateFile.close()), `  (${(size / 1e6).toFixed(1)} MB)`);
    // The first open of a format-2 file migrates it: once per processor upgrade.
    const migrating = path.join(dir, 'migrate.json');
    line('format 2 -> 3 migration on open (once)', await measure(() => undefined, async () => {
      await writeFile(migrating, encodeFormat2StateFile(state, 0));
      StateFile.open(migrating, 0).stateFile.close();
    }), '  (includes writing the JSON)');
    console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
