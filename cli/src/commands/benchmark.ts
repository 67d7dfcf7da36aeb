// `pdm benchmark skab|nab --data DIR`: a public benchmark end to end, the way a user would run it:
// for each recording, `pdm train` on the protocol's training split and `pdm score` on the rest (the
// command modules themselves, in-process, with no flags beyond --input, --out, --model, --output,
// --time-column and --delimiter), then the protocol's scoring. The datasets are read where they are;
// the split files, models and scores live in a temporary folder removed at the end. `pdm benchmark
// simulator` (benchmark-simulator.ts) makes its data with pdm simulate, in such a folder too.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { findTimeColumn, noTimeColumnReason } from '@pdm/config';
import {
  type FileOutcome,
  type NabFileResult,
  type NabLabels,
  type ScoresInput,
  type SkabFileResult,
  type SkippedFile,
  SKAB_LABEL_COLUMN,
  SKAB_NON_SENSOR_COLUMNS,
  SKAB_TRAIN_ROWS,
  checkNabParity,
  evaluateNab,
  evaluateSkab,
  nabProbationRows,
  parityHolds,
  parseNabLabels,
  readAlertsBeside,
  readDelimited,
  readRecording,
  renderNab,
  renderSkab,
  renderTable,
  splitRecording,
} from '@pdm/evaluation';
import { type Command, type CommandContext, UsageError, isOurFault } from '../command.js';
import { BENCHMARK_FLEET, TARGETS, runSimulatorBenchmark, simulatedFleet } from './benchmark-simulator.js';
import { type TrainedAndScored, flagsText, progress, trainThenScore } from './benchmark-steps.js';
import { kindFlag } from './train.js';

const OPTIONS = {
  data: { type: 'string' },
  only: { type: 'string' },
  kind: { type: 'string' },
  seed: { type: 'string', multiple: true },
  machines: { type: 'string' },
  duration: { type: 'string' },
} as const;

/** The flags only one kind of benchmark takes: the public ones read a dataset, the simulator makes its own. */
const DATASET_FLAGS = ['data', 'only'] as const;
const SIMULATOR_FLAGS = ['seed', 'machines', 'duration'] as const;

export const benchmark: Command = {
  usage: `pdm benchmark skab --data DIR [--only TEXT] [--kind KIND]
pdm benchmark nab --data DIR [--only TEXT] [--kind KIND]
pdm benchmark simulator [--seed N …] [--machines N] [--duration D] [--kind KIND]

Runs an anomaly benchmark end to end with today's defaults, as a user would; progress goes to
stderr. Its working files (split recordings or simulated data, models, scores) live in a temporary
folder removed at the end.

skab, nab: for each recording, pdm train on the protocol's training split and pdm score on the rest
(no flags beyond --input, --out, --model, --time-column and --delimiter), then the protocol's scoring
(see pdm evaluate --help). Prints the table per file, the totals and the baselines measured on the
same rows. A recording whose content is refused (a malformed row, rows out of time order) is
skipped, named in the notes with the line of its file; the totals say how many were skipped and the
exit code is 1.

  skab  DIR holds SKAB recordings (e.g. skab/ with other/, valve1/, …): every CSV with an "anomaly"
        column, found recursively (anomaly-free/ has none and is not part of the protocol). Rows
        1–400 train, the rest are judged pointwise: F1, FAR, MAR.
  nab   DIR is a NAB folder: data/<category>/<file>.csv and labels/combined_windows.json. Each
        labelled file present is run: its probation rows (15 %, at most 750) train, the rest are
        scored by NAB's rules. When DIR also has NAB's published results (results/<detector>/ and
        config/thresholds.json), the scorer is first proven against them, file by file, and the
        benchmark stops on a mismatch.
  simulator  no dataset: for each seed, pdm simulate --out (temporary) --machines N --duration D
             --fault-probability 1 --seed N, so every machine develops one fault; each machine's
             pdm train --until the end of the run's healthy start (the share before which pdm
             simulate starts no random fault, read from its manifest.json: the first 30 % by
             default), pdm score --from there on, then pdm evaluate against ground-truth.json.
             Prints per machine type, summed over the seeds: faults, detected (an alert between
             onset and failure), recall, median lead time before failure, false alert episodes per
             machine-day; for the default detector, the autoencoder alone (--kind autoencoder) as
             the baseline on the same windows, and the null detector (never alerts); the targets
             (recall ≥ ${TARGETS.recall}, ≤ ${TARGETS.falseEpisodesPerMachineDay} false episode per machine-day on every machine type); then
             each fault's lead time. About 2½ min per seed of 4 machines over 2d. A simulation,
             training, scoring or evaluation that fails is named in the notes, exit code 1.

Options:
  --data DIR     skab, nab: the dataset folder (required)
  --only TEXT    skab, nab: only the recordings whose path contains TEXT (e.g. --only realKnownCause)
  --seed N       simulator: a simulation seed; repeat for several (default ${BENCHMARK_FLEET.seeds.join(', ')})
  --machines N   simulator: machines per simulation, an even mix of pumps, motors, fans and compressors
                 (default ${BENCHMARK_FLEET.machines}: one of each)
  --duration D   simulator: virtual time per simulation, e.g. 6h, 2d (default ${BENCHMARK_FLEET.duration})
  --kind KIND    pass --kind KIND to pdm train (autoencoder, robust-t2, adaptive-z, pca, or several
                 combined such as robust-t2+autoencoder), to compare the detectors; without it pdm train
                 picks its default, as a user would get it (simulator: the detector measured beside
                 the autoencoder and null baselines)
  -h, --help     show this help`,

  async run(args, context) {
    const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    const [name, ...extra] = positionals;
    if (name !== 'skab' && name !== 'nab' && name !== 'simulator') throw new UsageError(`name the benchmark: skab, nab or simulator${name ? `, got "${name}"` : ''}`);
    if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`);
    const foreign = (name === 'simulator' ? DATASET_FLAGS : SIMULATOR_FLAGS).find((flag) => values[flag] !== undefined);
    if (foreign !== undefined) throw new UsageError(`--${foreign} is not for pdm benchmark ${name}: ${name === 'simulator' ? 'it makes its own data' : 'it belongs to pdm benchmark simulator'}`);
    kindFlag(values.kind);
    const trainFlags = values.kind === undefined ? [] : ['--kind', values.kind];
    if (name === 'simulator') {
      const fleet = simulatedFleet(values);
      return inWorkFolder(name, (work) => runSimulatorBenchmark(fleet, trainFlags, work, context));
    }
    const data = values.data;
    if (!data) throw new UsageError('--data DIR is required');
    if (!existsSync(data)) throw new UsageError(`--data: ${data} does not exist`);
    return inWorkFolder(name, (work) => (name === 'skab' ? runSkab(data, values.only, trainFlags, work, context) : runNab(data, values.only, trainFlags, work, context)));
  },
};

/** Runs a benchmark in a temporary folder of its own, removed at the end whatever happens. */
async function inWorkFolder(name: string, benchmarkIn: (work: string) => Promise<number>): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), `pdm-benchmark-${name}-`));
  try {
    return await benchmarkIn(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Every CSV under dir, as paths relative to it, in natural order (other/2 before other/10). */
async function csvFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.csv'))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

interface Detection extends TrainedAndScored {
  /** The scores.csv pdm score wrote with its alerts, or undefined when training or scoring failed. */
  scores?: ScoresInput;
}

/**
 * `pdm train` on one file and `pdm score` on another, as commands. The machine id is the recording's
 * file name (pdm's default), so both halves go in folders of their own.
 */
async function trainAndScore(
  folder: string,
  name: string,
  split: { train: string; test: string },
  flags: { timeColumn: string; delimiter: string },
  trainFlags: readonly string[],
): Promise<Detection> {
  const trainCsv = join(folder, 'train', name);
  const testCsv = join(folder, 'test', name);
  const models = join(folder, 'models');
  const scoresCsv = join(folder, 'scores.csv');
  await mkdir(join(folder, 'train'), { recursive: true });
  await mkdir(join(folder, 'test'), { recursive: true });
  await writeFile(trainCsv, split.train);
  await writeFile(testCsv, split.test);
  const csvFlags = ['--time-column', flags.timeColumn, '--delimiter', flags.delimiter];
  const detection = await trainThenScore(['--input', trainCsv, '--out', models, ...csvFlags, ...trainFlags], ['--model', models, '--input', testCsv, '--out', scoresCsv, ...csvFlags]);
  if (detection.failure !== undefined) return detection;
  return { ...detection, scores: { text: await readFile(scoresCsv, 'utf8'), source: `${name} scores`, alerts: await readAlertsBeside(scoresCsv) } };
}

/** The header row of a recording, read without the rest. */
function headerOf(text: string, source: string): { header: string[]; delimiter: string } {
  return readDelimited(text.split('\n', 1)[0] ?? '', source);
}

/** The columns pdm train/score must be told about for this file: its time column and delimiter. */
function csvFlagsOf(text: string, source: string): { timeColumn: string; delimiter: string } {
  const { header, delimiter } = headerOf(text, source);
  const timeColumn = header[findTimeColumn(header)];
  if (timeColumn === undefined) throw new Error(`${source}: ${noTimeColumnReason(header)}`);
  return { timeColumn, delimiter };
}

/**
 * Runs `one` on each recording. One the evaluation refuses (a malformed row, rows out of order) is
 * skipped with the reason and the others carry on: a benchmark of dozens of files should not stop at
 * the first bad one, nor leave the user to guess which it was.
 */
async function eachRecording<I extends { file: string }, R>(
  recordings: readonly I[],
  context: CommandContext,
  one: (recording: I, index: number) => Promise<{ outcome: FileOutcome<R>; summary: string }>,
): Promise<{ files: FileOutcome<R>[]; skipped: SkippedFile[] }> {
  const files: FileOutcome<R>[] = [];
  const skipped: SkippedFile[] = [];
  for (const [i, recording] of recordings.entries()) {
    const started = performance.now();
    try {
      const { outcome, summary } = await one(recording, i);
      files.push(outcome);
      progress(context, i, recordings.length, recording.file, started, summary);
    } catch (error) {
      if (isOurFault(error)) throw error; // it stops the run
      const reason = (error as Error).message;
      skipped.push({ file: recording.file, reason });
      progress(context, i, recordings.length, recording.file, started, `skipped, ${reason}`);
    }
  }
  return { files, skipped };
}

/** The exit code of a benchmark run: 1 when a recording was skipped, so a script sees the figures are partial. */
function exitCode(skipped: readonly SkippedFile[], context: CommandContext): number {
  if (skipped.length === 0) return 0;
  context.err(`benchmark: ${skipped.length} recording${skipped.length === 1 ? ' was' : 's were'} skipped (see the notes): the totals leave ${skipped.length === 1 ? 'it' : 'them'} out`);
  return 1;
}

async function runSkab(dir: string, only: string | undefined, trainFlags: readonly string[], work: string, context: CommandContext): Promise<number> {
  const recordings: { file: string; text: string }[] = [];
  const unlabelled: string[] = [];
  for (const file of await csvFiles(dir)) {
    if (only !== undefined && !file.includes(only)) continue;
    const text = await readFile(join(dir, file), 'utf8');
    const { header } = headerOf(text, file);
    if (header.includes(SKAB_LABEL_COLUMN)) recordings.push({ file, text });
    else unlabelled.push(file);
  }
  if (unlabelled.length > 0) context.err(`benchmark: skipped (no "${SKAB_LABEL_COLUMN}" column, not part of the protocol): ${unlabelled.join(', ')}`);
  if (recordings.length === 0) throw new UsageError(`--data: no SKAB recording (a CSV with an "${SKAB_LABEL_COLUMN}" column) under ${dir}`);
  context.err(`benchmark: SKAB, ${recordings.length} recordings in ${dir}; rows 1–${SKAB_TRAIN_ROWS} train, the rest are scored`);

  const { files, skipped } = await eachRecording(recordings, context, async ({ file, text }, i) => {
    // Read as the scoring will before anything trains on it (see runNab).
    readRecording(text, file, { labelColumn: SKAB_LABEL_COLUMN });
    const split = splitRecording(text, file, SKAB_TRAIN_ROWS, SKAB_NON_SENSOR_COLUMNS);
    const detection = await trainAndScore(join(work, String(i)), basename(file), split, csvFlagsOf(text, file), trainFlags);
    const result = evaluateSkab(text, file, detection.scores);
    const outcome: FileOutcome<SkabFileResult> = { file, result, ...(detection.failure ? { note: detection.failure } : {}) };
    return { outcome, summary: detection.summary };
  });
  context.out(`SKAB pointwise protocol, ${files.length} recordings in ${dir}: pdm train on rows 1–${SKAB_TRAIN_ROWS}, pdm score on the rest, ${flagsText(trainFlags)}`);
  for (const line of renderSkab(files, skipped)) context.out(line);
  return exitCode(skipped, context);
}

/** Proves the NAB scorer on the published results in dir; false (after saying why) on a mismatch. */
async function proveNabScorer(dir: string, context: CommandContext): Promise<boolean> {
  if (!existsSync(join(dir, 'results')) || !existsSync(join(dir, 'config', 'thresholds.json'))) {
    context.out(`NAB scorer parity: no published results in ${join(dir, 'results')} with config/thresholds.json, proof skipped`);
    return true;
  }
  const rows = await checkNabParity(dir);
  if (rows.length === 0) {
    context.out(`NAB scorer parity: no detector in config/thresholds.json has results under ${join(dir, 'results')}, proof skipped`);
    return true;
  }
  context.out('NAB scorer parity: published anomaly_score thresholded at config/thresholds.json, our score vs the sum of the published S(t) column');
  const table = rows.map((r) => [`${r.detector} ${r.file}`, r.profile, r.threshold.toFixed(6), r.ours.toFixed(9), r.published.toFixed(9), Math.abs(r.ours - r.published).toExponential(1), parityHolds(r) ? 'ok' : 'MISMATCH']);
  for (const line of renderTable(['results file', 'profile', 'threshold', 'ours', 'published', '|diff|', ''], table)) context.out(line);
  const wrong = rows.filter((r) => !parityHolds(r));
  if (wrong.length > 0) {
    context.err(`benchmark: NAB SCORER PARITY FAILED on ${wrong.length} of ${rows.length} file/profile pairs (tolerance 1e-6): the scorer does not follow NAB's rules; no figures are printed`);
    return false;
  }
  context.out(`NAB scorer parity: all ${rows.length} file/profile pairs agree within 1e-6`);
  return true;
}

async function runNab(dir: string, only: string | undefined, trainFlags: readonly string[], work: string, context: CommandContext): Promise<number> {
  const labelsPath = join(dir, 'labels', 'combined_windows.json');
  if (!existsSync(labelsPath)) throw new UsageError(`--data: ${dir} is not a NAB folder (no labels/combined_windows.json)`);
  if (!(await proveNabScorer(dir, context))) return 1;

  const labels: NabLabels = parseNabLabels(JSON.parse(await readFile(labelsPath, 'utf8')), labelsPath);
  const keys = [...labels.keys()].filter((key) => only === undefined || key.includes(only)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const present = keys.filter((key) => existsSync(join(dir, 'data', key)));
  const missing = keys.filter((key) => !present.includes(key));
  if (missing.length > 0) context.err(`benchmark: ${missing.length} labelled file${missing.length === 1 ? ' is' : 's are'} not in ${join(dir, 'data')}, left out: ${missing.join(', ')}`);
  if (present.length === 0) throw new UsageError(`--data: none of the labelled files${only ? ` matching "${only}"` : ''} is in ${join(dir, 'data')}`);
  context.err(`benchmark: NAB, ${present.length} series in ${join(dir, 'data')}; the probation rows train, the rest are scored`);

  const { files, skipped } = await eachRecording(present.map((key) => ({ file: key })), context, async ({ file: key }, i) => {
    const text = await readFile(join(dir, 'data', key), 'utf8');
    // Read as the scoring will before anything trains on it: a malformed row or rows out of order
    // are refused here, naming the file's line, not after minutes of training.
    const rows = readRecording(text, key).timestamps.length;
    const split = splitRecording(text, key, nabProbationRows(rows));
    const detection = await trainAndScore(join(work, String(i)), basename(key), split, csvFlagsOf(text, key), trainFlags);
    const result = evaluateNab(text, key, labels.get(key)!, detection.scores);
    const outcome: FileOutcome<NabFileResult> = { file: key, result, ...(detection.failure ? { note: detection.failure } : {}) };
    return { outcome, summary: detection.summary };
  });
  context.out('');
  context.out(`NAB, ${files.length} series in ${join(dir, 'data')}: pdm train on the probation rows, pdm score on the rest, ${flagsText(trainFlags)}; raw scores per profile`);
  for (const line of renderNab(files, skipped)) context.out(line);
  return exitCode(skipped, context);
}
