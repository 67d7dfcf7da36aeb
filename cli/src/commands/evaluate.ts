// `pdm evaluate`: measures detection from a scores.csv. Without --protocol, against the faults a
// simulation injected (the simulator's own evaluation, unchanged); with --protocol skab or nab, the
// way those public benchmarks measure it (@pdm/evaluation).
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  type FileOutcome,
  type NabFileResult,
  type ScoresInput,
  NAB_PROFILES,
  NAB_PROFILE_NAMES,
  SKAB_TRAIN_ROWS,
  type SkabFileResult,
  evaluateNab,
  evaluateSkab,
  nabCorpusScore,
  nabLabelKey,
  parseNabLabels,
  readAlertsBeside,
  renderNab,
  renderSkab,
  skabMetrics,
  sumSkab,
} from '@pdm/evaluation';
import { EVALUATE_USAGE, runEvaluateCli } from '@pdm/simulator';
import { systemClock } from '@pdm/clock';
import { parseDuration } from '@pdm/config';
import { type Command, type CommandContext, InputError, UsageError, isOurFault } from '../command.js';
import { influxUrlFlag } from '../influx-url.js';
import { labelledPrecision, renderPrecision } from '../labelled-precision.js';

const PROTOCOL_USAGE = `pdm evaluate --protocol skab --labels RECORDING.csv --scores scores.csv [--labels … --scores …]
pdm evaluate --protocol nab --labels combined_windows.json --data SERIES.csv --scores scores.csv [--data … --scores …]
pdm evaluate --from-influx [--since 30d] [--influx-url URL] [--database pdm] [--json]

Scores detection the way public benchmarks do (pdm benchmark runs a whole dataset folder):
  skab  pointwise, as the SKAB leaderboard: rows 1–400 of each recording are its training split; every
        later row is a TP, FP, FN or TN against the recording's "anomaly" column. Per file and summed
        over files: F1 = TP / (TP + (FP + FN)/2), FAR = FP / (FP + TN), MAR = FN / (FN + TP), next to
        the never- and always-anomalous baselines on the same rows.
  nab   NAB's scoring rules (numenta/NAB): the first 15 % of each series (at most 750 rows) is
        probation and not scored; a window's first detection earns more the earlier it comes, a
        missed window costs, a detection outside the windows costs by its distance after the last
        one; standard, reward_low_FP_rate and reward_low_FN_rate profiles, normalised over the files
        to 100 · (S − S_null) / (S_perfect − S_null) (null: never detects = 0, perfect = 100).
        A detection is a window that opened an alert (in the alerts file pdm score writes beside
        scores.csv); scores without one (another tool's) count every anomalous window.
--from-influx: precision on the real machines from the maintenance team's labels (pdm alerts label)
        on the alert episodes opened within --since (default 30d): fault / (fault + false_alarm),
        per model (the one whose window opened the episode) and per machine; maintenance counts as
        neither, unlabelled episodes are counted apart. --influx-url (default http://127.0.0.1:8086)
        and --database (default pdm) name the InfluxDB the processor writes to.
A row takes the decision of the scores window [window_start, window_end) that holds its timestamp; a
row no scored window holds counts as normal and is reported as a row without a decision.

Options:
  --protocol NAME      skab or nab (without it: the simulator evaluation above)
  --labels FILE        skab: a recording with its anomaly column (repeat, each followed by its --scores);
                       nab: labels/combined_windows.json (once)
  --data FILE          nab: the series (timestamp,value) a --scores file scored (repeatable, in pairs)
  --scores FILE        scores.csv written by pdm score for the recording before it
  --machine ID         the machine whose windows to use when a scores file holds several
  --time-column NAME   the recordings' time column (default: the first of time, timestamp, ts, date, datetime)
  --from-influx        precision from the maintenance team's labels (above), with:
  --since D            episodes opened within D (default 30d)
  --influx-url URL     the InfluxDB the processor writes to (default http://127.0.0.1:8086)
  --database NAME      its database (default pdm)
  --json               print the results as JSON instead of a table
  -h, --help           show this help`;

const OPTIONS = {
  protocol: { type: 'string' },
  labels: { type: 'string', multiple: true },
  data: { type: 'string', multiple: true },
  scores: { type: 'string', multiple: true },
  machine: { type: 'string' },
  'time-column': { type: 'string' },
  json: { type: 'boolean' },
} as const;

async function readText(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * Runs an evaluation of the user's files: whatever it refuses is about their content (a malformed row,
 * labels that are not windows, rows out of order, several machines without --machine), so it is an
 * InputError naming the files when the message does not.
 */
function ofInputs<T>(files: readonly string[], evaluate: () => T): T {
  try {
    return evaluate();
  } catch (error) {
    if (isOurFault(error)) throw error;
    const message = (error as Error).message;
    throw new InputError(files.some((file) => message.includes(file)) ? message : `${files.join(', ')}: ${message}`);
  }
}

/** Pairs each recording with the scores file given after it. */
function pairs(recordingFlag: string, recordings: string[] | undefined, scores: string[] | undefined): [string, string][] {
  if (!recordings?.length) throw new UsageError(`${recordingFlag} FILE is required`);
  if (recordings.length !== (scores?.length ?? 0)) {
    throw new UsageError(`give one --scores FILE per ${recordingFlag} FILE (got ${recordings.length} ${recordingFlag}, ${scores?.length ?? 0} --scores)`);
  }
  return recordings.map((recording, i) => [recording, scores![i]!]);
}

/** A --scores file with the alerts pdm score wrote beside it, when they are there. */
async function scoresOf(path: string, machine: string | undefined): Promise<ScoresInput> {
  const text = await readText('--scores', path);
  try {
    return { text, source: path, machine, alerts: await readAlertsBeside(path) };
  } catch (error) {
    throw new UsageError(`--scores: ${(error as Error).message}`);
  }
}

async function skab(values: { labels?: string[]; data?: string[]; scores?: string[]; machine?: string; 'time-column'?: string }): Promise<FileOutcome<SkabFileResult>[]> {
  if (values.data) throw new UsageError('--data belongs to --protocol nab; a SKAB recording carries its labels: --labels RECORDING.csv');
  const files: FileOutcome<SkabFileResult>[] = [];
  for (const [recording, scores] of pairs('--labels', values.labels, values.scores)) {
    const scoresInput = await scoresOf(scores, values.machine);
    const text = await readText('--labels', recording);
    const result = ofInputs([recording, scores], () => evaluateSkab(text, recording, scoresInput, { timeColumn: values['time-column'] }));
    // Without this a short recording reads as F1 "—" and exit 0, as if the detector had been judged.
    const note = result.rows === 0 ? `no test rows: the protocol trains on rows 1–${SKAB_TRAIN_ROWS} and judges the rows after them; this recording has no more` : undefined;
    files.push({ file: recording, result, ...(note ? { note } : {}) });
  }
  return files;
}

async function nab(values: { labels?: string[]; data?: string[]; scores?: string[]; machine?: string; 'time-column'?: string }): Promise<FileOutcome<NabFileResult>[]> {
  if (values.labels?.length !== 1) throw new UsageError('--labels combined_windows.json is required, once');
  const labelsPath = values.labels[0]!;
  let document: unknown;
  try {
    document = JSON.parse(await readText('--labels', labelsPath));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new InputError(`--labels: ${labelsPath} is not JSON: ${(error as Error).message}`);
  }
  const labels = ofInputs([labelsPath], () => parseNabLabels(document, labelsPath));
  const files: FileOutcome<NabFileResult>[] = [];
  for (const [series, scores] of pairs('--data', values.data, values.scores)) {
    const key = nabLabelKey(labels, series);
    if (key === undefined) throw new UsageError(`--data: ${labelsPath} has no windows for ${series} (name it as in the labels, e.g. …/realKnownCause/nyc_taxi.csv)`);
    const scoresInput = await scoresOf(scores, values.machine);
    const text = await readText('--data', series);
    files.push({ file: key, result: ofInputs([series, scores], () => evaluateNab(text, series, labels.get(key)!, scoresInput, { timeColumn: values['time-column'] })) });
  }
  return files;
}

function skabJson(files: FileOutcome<SkabFileResult>[]) {
  const total = sumSkab(files.map((f) => f.result));
  return { protocol: 'skab', files: files.map((f) => ({ file: f.file, ...f.result, ...skabMetrics(f.result), ...(f.note ? { note: f.note } : {}) })), total: { ...total, ...skabMetrics(total) } };
}

function nabJson(files: FileOutcome<NabFileResult>[]) {
  const corpus = Object.fromEntries(NAB_PROFILE_NAMES.map((name) => [name, nabCorpusScore(files.map((f) => f.result.scores[name]), NAB_PROFILES[name])]));
  return { protocol: 'nab', files: files.map((f) => ({ file: f.file, ...f.result })), corpus };
}

/** The value of --protocol (`--protocol X` or `--protocol=X`), undefined without one. */
function protocolOf(args: readonly string[]): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (arg === '--protocol') return args[i + 1] ?? '';
    if (arg.startsWith('--protocol=')) return arg.slice('--protocol='.length);
  }
  return undefined;
}

export const evaluate: Command = {
  usage: `${EVALUATE_USAGE}\n\n${PROTOCOL_USAGE}`,

  async run(args, context) {
    if (args.includes('--from-influx')) return fromInflux(args, context);
    if (protocolOf(args) === undefined) return runEvaluateCli(args, context);
    const { values } = parseArgs({ args, options: OPTIONS, strict: true });
    if (values.protocol === 'skab') {
      const files = await skab(values);
      if (values.json) context.out(JSON.stringify(skabJson(files), null, 2));
      else for (const line of renderSkab(files)) context.out(line);
    } else if (values.protocol === 'nab') {
      const files = await nab(values);
      if (values.json) context.out(JSON.stringify(nabJson(files), null, 2));
      else for (const line of renderNab(files)) context.out(line);
    } else {
      throw new UsageError(`--protocol must be skab or nab, got "${values.protocol}" (leave it out to evaluate a simulation)`);
    }
    return 0;
  },
};

async function fromInflux(args: string[], context: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'from-influx': { type: 'boolean' },
      since: { type: 'string', default: '30d' },
      'influx-url': { type: 'string', default: 'http://127.0.0.1:8086' },
      database: { type: 'string', default: 'pdm' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  let sinceMs: number;
  try {
    sinceMs = parseDuration(values.since);
  } catch (error) {
    throw new UsageError(`--since: ${(error as Error).message}`);
  }
  const result = await labelledPrecision({ url: influxUrlFlag(values['influx-url']), database: values.database }, systemClock.now() - sinceMs, systemClock);
  if (values.json) context.out(JSON.stringify(result, null, 2));
  else for (const line of renderPrecision(result)) context.out(line);
  return 0;
}
