// `pdm evaluate`: compares scores files with a ground-truth file and reports detection, lead time,
// false alerts, precision and recall.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { evaluate } from '../evaluate/evaluate.js';
import { evaluationJson, renderEvaluation } from '../evaluate/report.js';
import { type ScoredWindow, parseScoresCsv, readAlertsBeside } from '@pdm/evaluation';
import { parseGroundTruth } from '../faults/ground-truth.js';
import { parseDuration } from '../time/parse.js';
import { type CliIo, EXIT, FlagError, flagValue } from './io.js';

export const EVALUATE_USAGE = `pdm evaluate --ground-truth gt.json --scores scores.csv [--scores more.csv …] [--episode-gap D] [--json]

Scores anomaly detection against the faults a simulation injected.
  per fault     detected or missed, lead time = failure − end of the window that raised the first alert
                during [onset, failure) (scores without alerts: the first anomalous window)
  window level  precision/recall of anomalous windows vs windows overlapping [onset, failure)
  event level   recall = faults detected / faults; precision = alert episodes touching a fault / episodes
                (episodes: the alerts pdm score wrote beside the scores, open → resolved; without
                them, runs of anomalous windows, see --episode-gap)
  false alerts  episodes (and windows) outside every [onset, recovered) per machine-day scored

Options:
  --ground-truth FILE  ground-truth.json written by pdm simulate
  --scores FILE        CSV: window_start,window_end,machine,score,threshold,anomaly (pdm score), its
                       alerts read from beside it (scores.csv → scores.alerts.csv) when there;
                       repeat for several files, pooled: each machine's windows in one file only, and
                       all files with alerts or none
  --episode-gap D      without alerts: anomalous windows closer than this form one episode
                       (default 0: touching)
  --json               print the evaluation as JSON instead of a table
  -h, --help           show this help`;

const OPTIONS = {
  'ground-truth': { type: 'string' },
  scores: { type: 'string', multiple: true },
  'episode-gap': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Where JSON.parse stopped, as a line of `text` (its message gives only the character position). */
function jsonErrorLine(text: string, error: Error): string {
  const position = /at position (\d+)/.exec(error.message)?.[1];
  return position === undefined ? '' : ` line ${text.slice(0, Number(position)).split('\n').length}`;
}

/**
 * The windows of every scores file, pooled. Refused: a machine in two files (the same machine scored
 * twice, by two detectors or one file given twice, would count its windows and episodes twice), and
 * files that disagree on alerts (episodes come from alerts only when the scores come with them, so a
 * file without would silently lose its detections).
 */
async function pooledScores(paths: readonly string[]): Promise<ScoredWindow[]> {
  const fileOf = new Map<string, string>();
  const pooled: ScoredWindow[] = [];
  let first: { path: string; alerts: boolean } | undefined;
  for (const path of paths) {
    const windows = parseScoresCsv(await readText('--scores', path), path, await readAlertsBeside(path));
    // A file without windows (a machine that sent none) has nothing to pool, nor alerts to disagree on.
    if (windows.length === 0) continue;
    for (const machine of new Set(windows.map((w) => w.machine))) {
      const other = fileOf.get(machine);
      if (other !== undefined) throw new Error(`machine ${machine} has windows in both ${other} and ${path}: give each machine's scores once`);
      fileOf.set(machine, path);
    }
    const alerts = windows.some((w) => w.alert !== undefined);
    first ??= { path, alerts };
    if (alerts !== first.alerts) {
      const [withAlerts, without] = alerts ? [path, first.path] : [first.path, path];
      throw new Error(`${withAlerts} comes with alerts and ${without} without: score all files the same way`);
    }
    pooled.push(...windows);
  }
  return pooled;
}

async function readText(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new FlagError(flag, `cannot read ${path}: ${(error as Error).message}`);
  }
}

export async function runEvaluateCli(argv: string[], io: CliIo): Promise<number> {
  let values;
  let episodeGapMs: number | undefined;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
    if (values.help) {
      io.out(EVALUATE_USAGE);
      return EXIT.ok;
    }
    if (!values['ground-truth']) throw new FlagError('--ground-truth', 'is required (the ground-truth.json file)');
    if (!values.scores) throw new FlagError('--scores', 'is required (a scores CSV file)');
    episodeGapMs = flagValue('--episode-gap', values['episode-gap'], parseDuration);
  } catch (error) {
    io.err(`pdm evaluate: ${(error as Error).message}`);
    return EXIT.usage;
  }
  try {
    const gtPath = values['ground-truth'];
    const gtText = await readText('--ground-truth', gtPath);
    let truthDocument: unknown;
    try {
      truthDocument = JSON.parse(gtText);
    } catch (error) {
      throw new Error(`${gtPath}${jsonErrorLine(gtText, error as Error)}: not JSON: ${(error as Error).message}`);
    }
    const truth = parseGroundTruth(truthDocument, gtPath);
    const scores = await pooledScores(values.scores);
    const result = evaluate(truth, scores, episodeGapMs === undefined ? {} : { episodeGapMs });
    if (values.json) io.out(JSON.stringify(evaluationJson(result), null, 2));
    else for (const line of renderEvaluation(result)) io.out(line);
    return EXIT.ok;
  } catch (error) {
    io.err(`pdm evaluate: ${(error as Error).message}`);
    return error instanceof FlagError ? EXIT.usage : EXIT.failure;
  }
}
