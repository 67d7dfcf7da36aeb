// `pdm train` (fixed interface): trains an anomaly model from normal operation — a CSV replayed
// through the gateway's window engine, or features already stored in InfluxDB — and writes it as a
// versioned folder of the model registry.
import { parseArgs } from 'node:util';
import { trainModel } from '@pdm/cloud-processor';
import { type Command, UsageError } from '../command.js';
import { CSV_FLAG_HELP, CSV_FLAG_OPTIONS, csvReplayOptions } from '../csv-flags.js';
import { windowsFromCsv } from '../csv-windows.js';
import { windowsFromInflux } from '../influx-windows.js';

export const train: Command = {
  usage: `pdm train --input normal.csv --out MODEL_DIR [--time-column NAME] [--delimiter ,] [--window 10s] [--machine ID]
pdm train --from-influx --machine ID --start T --end T --out MODEL_DIR [--influx-url URL] [--database pdm]

Trains an anomaly model on normal operation and writes it into the model registry MODEL_DIR as
MODEL_DIR/<name>/<version>/ (model.json + weights, normalization.json, threshold.json, contract.json).
A processor watching MODEL_DIR picks the new version up without a restart.

Options:
${CSV_FLAG_HELP}
  --out DIR             the model registry folder to write into (required)
  --name NAME           model name (default: anomaly)
  --epochs N            training epochs (default: the model's own)
  --seed N              random seed, for reproducible models (default: fixed)
  --from-influx         train on sensor_features stored in InfluxDB instead of a CSV
  --start T, --end T    time range for --from-influx (ISO-8601)
  --influx-url URL      InfluxDB for --from-influx (default: http://127.0.0.1:8086)
  --database NAME       database for --from-influx (default: pdm)
  -h, --help            show this help`,

  async run(args, { out, err }) {
    const { values } = parseArgs({
      args,
      options: {
        ...CSV_FLAG_OPTIONS,
        out: { type: 'string' },
        name: { type: 'string' },
        epochs: { type: 'string' },
        seed: { type: 'string' },
        'from-influx': { type: 'boolean' },
        start: { type: 'string' },
        end: { type: 'string' },
        'influx-url': { type: 'string', default: 'http://127.0.0.1:8086' },
        database: { type: 'string', default: 'pdm' },
      },
      strict: true,
    });
    if (!values.out) throw new UsageError('--out MODEL_DIR is required');
    const integer = (flag: string, value: string | undefined) => {
      if (value === undefined) return undefined;
      if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} must be a whole number, got "${value}"`);
      return Number(value);
    };
    const epochs = integer('epochs', values.epochs);
    const seed = integer('seed', values.seed);

    let windows;
    if (values['from-influx']) {
      if (!values.machine || !values.start || !values.end) throw new UsageError('--from-influx needs --machine ID, --start T and --end T');
      for (const flag of ['start', 'end'] as const) {
        if (Number.isNaN(Date.parse(values[flag]!))) throw new UsageError(`--${flag} must be an ISO-8601 time, got "${values[flag]}"`);
      }
      windows = await windowsFromInflux(values['influx-url'], values.database, values.machine, values.start, values.end);
      err(`train: ${windows.length} windows of ${values.machine} from ${values['influx-url']}/${values.database}`);
    } else {
      const { input, options, range } = csvReplayOptions(values);
      windows = await windowsFromCsv(input, options, range, err, 'train');
    }

    let lastEpochLine = 0;
    const report = await trainModel(windows, {
      outDir: values.out,
      name: values.name,
      epochs,
      seed,
      onProgress: (epoch, loss) => {
        if (Date.now() - lastEpochLine < 1000) return;
        lastEpochLine = Date.now();
        err(`train: epoch ${epoch} · loss ${loss.toFixed(5)}`);
      },
    });
    out(`model ${report.name} version ${report.version} written to ${report.dir}`);
    out(`  backend ${report.backend} · ${report.trainingWindows} training windows, ${report.heldBackWindows} held back for calibration`);
    out(`  features (${report.contract.featureNames.length}): ${report.contract.featureNames.join(', ')}`);
    out(`  threshold ${report.threshold.toFixed(3)} · window ${report.contract.windowMs} ms · feature_version ${report.contract.featureVersion}`);
    const skipped = Object.entries(report.skipped).filter(([, n]) => n > 0);
    if (skipped.length > 0) out(`  skipped windows: ${skipped.map(([why, n]) => `${n} ${why}`).join(', ')}`);
    return 0;
  },
};
