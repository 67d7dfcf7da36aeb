// `pdm processor`: runs the cloud processor until SIGTERM/SIGINT. Returns the exit code: 0 after a
// clean stop (also one asked during the start), 2 for a bad flag or configuration (the message names
// the key) or no usable Google credentials (the message says what to set), 1 for another start failure
// or once the Pub/Sub client stopped pulling for good (it then stops gracefully: a supervisor restarts
// it, as after a failed start).
import { parseArgs } from 'node:util';
import { HIDDEN, hidePassword, logFormatFlag } from '@pdm/config';
import { ALERT_DELIVERY_DEFAULTS } from './alerts/alert-delivery.js';
import { ConfigError, loadProcessorConfig, type ProcessorConfig } from './config/index.js';
import { MODEL_DEFAULTS } from './model/defaults.js';
import { DRIFT_DEFAULTS } from './scoring/drift.js';
import { fixHeapGrowth } from './app/heap-growth.js';
import { startProcessor } from './app/start-processor.js';
import { describeError } from './shared/describe-error.js';

export interface ProcessorCliIo {
  out(line: string): void;
  err(line: string): void;
  waitForStop(): Promise<NodeJS.Signals>;
  env?: NodeJS.ProcessEnv;
}

export const PROCESSOR_USAGE = `pdm processor [--config FILE] [--print-config] [--log-format auto|json|pretty]

Runs the cloud processor: pulls feature messages (pdm.v1.FeatureBatch, the default, or
MachineWindow) and gateway health reports from a Pub/Sub subscription, writes features and anomaly
scores to InfluxDB, raises alerts, and serves /healthz, /readyz and /metrics.
Messages are acked only once written; Ctrl-C / SIGTERM stops pulling and lets in-flight ones finish.
Signals are taken over before the start (which takes seconds: the InfluxDB schema, the Pub/Sub
resources, the models): a stop asked during it ends the start before any message is pulled (exit 0).
Exits 1 when it cannot start, or once Pub/Sub stops delivering for good (the subscription deleted, a
permission revoked): in-flight messages finish first, then a supervisor should restart it.

Options:
  --config FILE     YAML or JSON configuration (every key has a default)
  --print-config    print the effective configuration (file + PDM_PROCESSOR_* env, defaults
                    included, secrets hidden) as JSON and exit
  --log-format F    log lines on standard output as json, pretty (readable), or auto (the
                    default, config log.format): pretty on a terminal, json otherwise
  -h, --help        show this help

Output: log lines (and --print-config) on standard output, so \`pdm processor | jq\` works;
the start banner, the stop line and errors on standard error.

Environment:
  PDM_PROCESSOR_<KEY>[__<KEY>]=value overrides one key, e.g. PDM_PROCESSOR_INFLUX__URL=http://db:8086
  PUBSUB_EMULATOR_HOST=host:port  use a Pub/Sub emulator instead of Google Cloud
  GOOGLE_APPLICATION_CREDENTIALS=key.json  Google credentials (else Application Default Credentials);
                    without usable credentials the processor exits 2 at start`;

/**
 * The configuration as --print-config shows it (it may go to a ticket or a log): the defaults that are
 * resolved outside the schema (scorer, alert delivery) filled in, the API token, URL passwords and the
 * webhook's secret path hidden. Printed as JSON, which is YAML too, so it can be fed back with --config.
 */
export function printableProcessorConfig(config: ProcessorConfig): unknown {
  const { webhook } = config.alerts;
  const { model } = config;
  const scorer = MODEL_DEFAULTS.scorer;
  return {
    ...config,
    influx: { ...config.influx, url: hidePassword(config.influx.url) },
    model: {
      ...model,
      maxBatch: model.maxBatch ?? scorer.maxBatch,
      maxDelayMs: model.maxDelayMs ?? scorer.maxDelayMs,
      pollMs: model.pollMs ?? scorer.pollMs,
      stateSaveMs: model.stateSaveMs ?? scorer.stateSaveMs,
      forgetMachinesAfterMs: model.forgetMachinesAfterMs ?? scorer.forgetMachinesAfterMs,
      driftRetrainPsi: model.driftRetrainPsi ?? DRIFT_DEFAULTS.retrainPsi,
    },
    alerts: {
      ...config.alerts,
      delivery: config.alerts.delivery ?? ALERT_DELIVERY_DEFAULTS,
      // A chat webhook's path is its secret (anyone with the URL can post): only the origin is shown.
      webhook: webhook && { ...webhook, url: `${new URL(webhook.url).origin}/${HIDDEN}` },
    },
    http: { ...config.http, apiToken: config.http.apiToken === undefined ? undefined : HIDDEN },
  };
}

export async function runProcessorCli(argv: string[], io: ProcessorCliIo): Promise<number> {
  let values: { config?: string; help?: boolean; 'print-config'?: boolean; 'log-format'?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, 'print-config': { type: 'boolean' }, 'log-format': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    io.err(`pdm processor: ${describeError(error)}\n\n${PROCESSOR_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(PROCESSOR_USAGE);
    return 0;
  }
  let config;
  try {
    const loaded = loadProcessorConfig({ file: values.config, env: io.env ?? process.env });
    config = values['log-format'] === undefined ? loaded : { ...loaded, log: { ...loaded.log, format: logFormatFlag(values['log-format']) } };
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`pdm processor: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (values['print-config']) {
    io.out(JSON.stringify(printableProcessorConfig(config), null, 2));
    return 0;
  }
  // Signals are taken over before the start, which takes seconds (the credentials, the InfluxDB schema,
  // the Pub/Sub resources, the models). Without a handler a SIGTERM meanwhile ended the process at once
  // (exit 143, nothing stopped gracefully), and node running as PID 1 in a container ignores a signal
  // it has no handler for: `docker stop` or a pod deletion during the start was lost, the processor
  // started pulling and was killed at the end of the grace period. Now the start ends at its next step,
  // before any message is pulled, and exits 0 as after any stop; a stop that comes once it pulls stops
  // it gracefully below. A second signal exits at once (the caller's waitForStop: `pdm`'s does).
  const stopRequested = io.waitForStop();
  const startUp = new AbortController();
  let stopSignal: NodeJS.Signals | undefined;
  void stopRequested.then((signal) => {
    stopSignal = signal;
    startUp.abort();
  });
  // Here rather than in startProcessor: a V8 flag is the whole process's, and only `pdm processor` owns
  // its process (tests and other commands start processors inside theirs).
  fixHeapGrowth();
  let processor;
  try {
    processor = await startProcessor(config, { signal: startUp.signal });
  } catch (error) {
    if (startUp.signal.aborted && error === startUp.signal.reason) {
      io.err(`${stopSignal}: stopped during start-up, before pulling from Pub/Sub`);
      return 0;
    }
    // No usable Google credentials: a configuration problem, with what to set in the message.
    if (error instanceof ConfigError) {
      io.err(`pdm processor: ${error.message}`);
      return 2;
    }
    io.err(`pdm processor: could not start: ${describeError(error)}`);
    return 1;
  }
  // Banners on standard error: standard output carries the JSON log lines (`pdm processor | jq`).
  io.err(`processor ${config.instanceId} running; ops HTTP on port ${processor.httpPort} (Ctrl-C stops)`);
  const ended = await Promise.race([stopRequested, processor.failed]);
  // A processor that no longer pulls only idles: exiting lets systemd, Docker or Kubernetes restart it.
  io.err(ended instanceof Error ? `pdm processor: ${ended.message}; stopping` : `${ended}: stopping (waiting for in-flight messages)`);
  await processor.stop();
  return ended instanceof Error ? 1 : 0;
}
