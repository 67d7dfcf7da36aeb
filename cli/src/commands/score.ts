// `pdm score` (fixed interface): scores a CSV with a trained model through the same path as live
// traffic (replay → window engine → model → the processor's alert hysteresis) and writes one row per
// scored window to scores.csv, and the alerts those windows opened and resolved to a file beside it.
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ALERT_DEFAULTS, AlertTracker, openScorer, scoreWindows } from '@pdm/cloud-processor';
import { ALERTS_COLUMNS, SCORES_COLUMNS, alertsFileFor } from '@pdm/evaluation';
import { type Command, UsageError } from '../command.js';
import { CSV_FLAG_HELP, CSV_FLAG_OPTIONS, csvReplayOptions, openOutput } from '../csv-flags.js';
import { eitherSpelling } from '../flag-spelling.js';
import { windowsFromCsv } from '../csv-windows.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** The headers of scores.csv and of the alerts file beside it; `@pdm/evaluation` reads them by the same columns. */
const SCORES_HEADER = SCORES_COLUMNS.join(',');
const ALERTS_HEADER = ALERTS_COLUMNS.join(',');

export const score: Command = {
  usage: `pdm score --model MODEL_DIR --input data.csv --out scores.csv [--time-column NAME] [--delimiter ,] [--window 10s] [--machine ID]

Scores every window of a CSV with the newest model in MODEL_DIR (written by pdm train) and writes
${SCORES_HEADER}
with times in ISO-8601 UTC and anomaly 0 or 1, one row per scored window. Beside it (scores.csv →
scores.alerts.csv) the alerts as the processor raises them, one row per window that opened or
resolved one: ${ALERTS_HEADER}, alert open or resolved (the model's alert rule from
its contract.json, else ${ALERT_DEFAULTS.openAfter} of the last ${ALERT_DEFAULTS.within} windows anomalous to open, ${ALERT_DEFAULTS.resolveAfter} normal to resolve); pdm evaluate
reads it from there. Without --window, the windows are the model's size. Windows the model cannot
score (a sensor missing, another window size) are counted and reported, not written.

Options:
  --model DIR           the model registry folder written by pdm train (required)
${CSV_FLAG_HELP}
  --out FILE            where to write the scores (required; --output FILE is the old spelling);
                        the alerts go beside it
  -h, --help            show this help`,

  async run(args, { out, err }) {
    const { values } = parseArgs({ args, options: { ...CSV_FLAG_OPTIONS, model: { type: 'string' }, out: { type: 'string' }, output: { type: 'string' } }, strict: true });
    if (!values.model) throw new UsageError('--model MODEL_DIR is required');
    const output = eitherSpelling(values, 'out', 'output');
    if (!output) throw new UsageError('--out FILE is required');
    if (/\.alerts\.csv$/i.test(output)) throw new UsageError(`--out ${output}: a name pdm score gives the alerts beside a scores file; name the scores file otherwise`);
    const { input, options, range } = csvReplayOptions(values);
    const scorer = await openScorer({ registryDir: values.model });
    try {
      const models = scorer.loaded();
      if (models.length === 0) throw new UsageError(`--model: no trained model found in ${values.model} (run pdm train --out ${values.model} first)`);
      if (values.window === undefined) {
        const sizes = [...new Set(models.map((m) => m.windowMs))];
        if (sizes.length > 1) throw new UsageError(`--window: the models in ${values.model} use windows of ${sizes.join(', ')} ms; say which to score with`);
        options.engine = { ...options.engine, windowMs: sizes[0] };
      }
      // Opened before the work: a --out that cannot be written is refused at once.
      const file = await openOutput(output);
      const alertsOutput = alertsFileFor(output);
      const alertsFile = await openOutput(alertsOutput).catch(async (error: unknown) => {
        await file.close(false);
        throw error;
      });
      let scored = 0;
      let anomalies = 0;
      let opened = 0;
      const refused = new Map<string, number>();
      let complete = false;
      try {
        const windows = await windowsFromCsv(input, options, range, err, 'score');
        const outcomes = await scoreWindows(scorer, windows);
        const alerts = new AlertTracker(ALERT_DEFAULTS);
        file.write(`${SCORES_HEADER}\n`);
        alertsFile.write(`${ALERTS_HEADER}\n`);
        for (const outcome of outcomes) {
          if (outcome.kind !== 'scored') {
            const why =
              outcome.kind === 'contract_mismatch'
                ? outcome.reason
                : outcome.kind === 'held'
                  ? `held by the running-state gate (${outcome.reason})`
                  : 'no model applies: none is scoped to this machine, and none without a scope uses its sensors';
            refused.set(why, (refused.get(why) ?? 0) + 1);
            continue;
          }
          const s = outcome.score;
          scored++;
          if (s.isAnomaly) anomalies++;
          const window = `${iso(s.windowStart)},${iso(s.windowEnd)},${s.machineId}`;
          file.write(`${window},${s.score},${s.threshold},${s.isAnomaly ? 1 : 0}\n`);
          const alert = alerts.observe(s)?.state;
          if (alert === undefined) continue;
          if (alert === 'open') opened++;
          alertsFile.write(`${window},${alert}\n`);
        }
        complete = true;
      } finally {
        // The alerts first, then the scores only if the alerts were kept, and the alerts removed again if
        // the scores cannot be: a scores file never stands beside another run's alerts.
        let alertsKept = false;
        try {
          await alertsFile.close(complete);
          alertsKept = complete;
        } finally {
          await file.close(alertsKept).catch(async (error: unknown) => {
            if (alertsKept) await rm(alertsOutput, { force: true });
            throw error;
          });
        }
      }
      const model = models[0]!;
      out(`scored ${scored} windows with ${model.name}@${model.version} (${model.backend}): ${anomalies} anomalous, ${opened} alert${opened === 1 ? '' : 's'} opened → ${output}, alerts → ${alertsOutput}`);
      for (const [why, n] of refused) err(`score: ${n} windows not scored: ${why}`);
      return 0;
    } finally {
      await scorer.close();
    }
  },
};
