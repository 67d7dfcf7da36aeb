// `pdm score` (fixed interface): scores a CSV with a trained model through the same path as live
// traffic (replay → window engine → model) and writes one row per scored window to scores.csv.
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { openScorer, scoreWindows } from '@pdm/cloud-processor';
import { SCORES_COLUMNS } from '@pdm/evaluation';
import { type Command, UsageError } from '../command.js';
import { CSV_FLAG_HELP, CSV_FLAG_OPTIONS, csvReplayOptions } from '../csv-flags.js';
import { windowsFromCsv } from '../csv-windows.js';

/** The header of scores.csv; `@pdm/evaluation` reads the file by the same columns. */
export const SCORES_HEADER = SCORES_COLUMNS.join(',');

export const score: Command = {
  usage: `pdm score --model MODEL_DIR --input data.csv --output scores.csv [--time-column NAME] [--delimiter ,] [--window 10s] [--machine ID]

Scores every window of a CSV with the newest model in MODEL_DIR (written by pdm train) and writes
${SCORES_HEADER}
with times in ISO-8601 UTC and anomaly 0 or 1, one row per scored window. Windows the model cannot
score (a sensor missing, another window size) are counted and reported, not written.

Options:
  --model DIR           the model registry folder written by pdm train (required)
${CSV_FLAG_HELP}
  --output FILE         where to write the scores (required)
  -h, --help            show this help`,

  async run(args, { out, err }) {
    const { values } = parseArgs({ args, options: { ...CSV_FLAG_OPTIONS, model: { type: 'string' }, output: { type: 'string' } }, strict: true });
    if (!values.model) throw new UsageError('--model MODEL_DIR is required');
    if (!values.output) throw new UsageError('--output FILE is required');
    const { input, options, range } = csvReplayOptions(values);
    const windows = await windowsFromCsv(input, options, range, err, 'score');

    const scorer = await openScorer({ registryDir: values.model });
    try {
      if (scorer.loaded().length === 0) throw new UsageError(`--model: no trained model found in ${values.model} (run pdm train --out ${values.model} first)`);
      const outcomes = await scoreWindows(scorer, windows);
      const file = createWriteStream(values.output);
      file.write(`${SCORES_HEADER}\n`);
      let scored = 0;
      let anomalies = 0;
      const refused = new Map<string, number>();
      for (const outcome of outcomes) {
        if (outcome.kind !== 'scored') {
          const why = outcome.kind === 'contract_mismatch' ? outcome.reason : 'no model applies to these sensors';
          refused.set(why, (refused.get(why) ?? 0) + 1);
          continue;
        }
        const s = outcome.score;
        scored++;
        if (s.isAnomaly) anomalies++;
        const iso = (ms: number) => new Date(ms).toISOString();
        file.write(`${iso(s.windowStart)},${iso(s.windowEnd)},${s.machineId},${s.score},${s.threshold},${s.isAnomaly ? 1 : 0}\n`);
      }
      await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
      const model = scorer.loaded()[0];
      out(`scored ${scored} windows with ${model?.name}@${model?.version} (${model?.backend}): ${anomalies} anomalous → ${values.output}`);
      for (const [why, n] of refused) err(`score: ${n} windows not scored: ${why}`);
      return 0;
    } finally {
      await scorer.close();
    }
  },
};
