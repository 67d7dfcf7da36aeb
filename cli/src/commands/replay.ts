// `pdm replay`: runs a CSV through the gateway's window engine (the same code as live traffic) and
// writes the MachineWindow records as JSON lines, or publishes them to Pub/Sub as the gateway would
// (FeatureBatch messages unless the gateway configuration turns them off).
import { parseArgs } from 'node:util';
import { ConfigError, connectPubSub, loadGatewayConfig, machineWindowToJson, replayCsv, ReplayError, ReplayPublisher, usesPubSubEmulator } from '@pdm/edge-gateway';
import type { MachineWindow } from '@pdm/proto';
import { type Command, UsageError } from '../command.js';
import { CSV_FLAG_HELP, CSV_FLAG_OPTIONS, csvReplayOptions, openOutput } from '../csv-flags.js';
import { eitherSpelling } from '../flag-spelling.js';
import { reportUnused, requireSensors } from '../csv-windows.js';
import { progressReporter } from '../progress.js';

export const replay: Command = {
  usage: `pdm replay --input data.csv [--machine ID] [--time-column NAME] [--delimiter ,] [--window 10s]
           [--out windows.jsonl | --publish --topic NAME [--project ID] [--emulator-host HOST:PORT]
            [--gateway-config gateway.yaml]]

Runs every row of a CSV through the same window engine the gateway runs on live traffic.

Options:
${CSV_FLAG_HELP}
  --out FILE            write one JSON MachineWindow per line to FILE (default: standard output;
                        --output FILE is the old spelling)
  --publish             publish the windows to Pub/Sub instead, as a gateway would: FeatureBatch
                        messages (ordering key <gateway>:<shard>), or one MachineWindow per message
                        (ordering key = machine) when the gateway configuration says
                        pubsub.featureBatches.enabled: false
  --gateway-config FILE the gateway configuration whose pubsub.featureBatches (enabled, shards,
                        maxBytes) and pubsub.keyMaxBytesPerSecond (each ordering key's rate)
                        --publish follows (default: the gateway's defaults and PDM_GATEWAY_*
                        variables)
  --topic NAME          Pub/Sub topic for --publish
  --project ID          Google Cloud project (default: pdm-local)
  --emulator-host H:P   publish to a Pub/Sub emulator (PUBSUB_EMULATOR_HOST works too)
  --gateway ID          gateway id carried in the windows and attributes (default: replay)
  --site ID             site id carried in the windows and attributes (default: replay)
  -h, --help            show this help`,

  async run(args, { out, err }) {
    const { values } = parseArgs({
      args,
      options: {
        ...CSV_FLAG_OPTIONS,
        out: { type: 'string' },
        output: { type: 'string' },
        publish: { type: 'boolean' },
        'gateway-config': { type: 'string' },
        topic: { type: 'string' },
        project: { type: 'string', default: 'pdm-local' },
        'emulator-host': { type: 'string' },
        gateway: { type: 'string', default: 'replay' },
        site: { type: 'string', default: 'replay' },
      },
      strict: true,
    });
    const { input, options, range } = csvReplayOptions(values);
    options.engine = { ...(options.engine as object), gatewayId: values.gateway, siteId: values.site };
    if (values.publish && !values.topic) throw new UsageError('--publish needs --topic NAME');
    const output = eitherSpelling(values, 'out', 'output');
    if (values.publish && output) throw new UsageError('--out and --publish exclude each other');
    if (values['gateway-config'] && !values.publish) throw new UsageError('--gateway-config only applies to --publish');

    let sink: (w: MachineWindow) => Promise<void> | void;
    /** Ends the output; `complete`: the replay ran to its end (a file output is kept only then). */
    let finish: (complete: boolean) => Promise<void>;
    if (values.publish) {
      const publishing = gatewayPublishing(values['gateway-config']);
      const emulatorHost = values['emulator-host'];
      // No Google credentials to look for with an emulator: skip the GCE metadata server probe.
      if (usesPubSubEmulator(emulatorHost)) process.env.METADATA_SERVER_DETECTION ??= 'none';
      // Credentials resolved now: none usable is an error that says what to set, not a crash mid-replay.
      const pubsub = await connectPubSub({ projectId: values.project, emulatorHost });
      const topic = pubsub.topic(values.topic!, { messageOrdering: true });
      const publisher = new ReplayPublisher(topic, { gatewayId: values.gateway, siteId: values.site }, publishing);
      sink = (w) => publisher.add(w);
      finish = async () => {
        try {
          await publisher.flush();
        } finally {
          await pubsub.close();
        }
      };
    } else {
      const file = output ? await openOutput(output) : undefined;
      const write = (line: string) => (file ? file.write(`${line}\n`) : out(line));
      sink = (w) => write(JSON.stringify(machineWindowToJson(w)));
      finish = async (complete) => file?.close(complete);
    }

    let windows = 0;
    let complete = false;
    const report = progressReporter('replay', err);
    try {
      const summary = await replayCsv(input, options, {
        onWindow: (w) => {
          if (Number(w.windowStart) < range.from || Number(w.windowEnd) > range.until) return;
          windows++;
          return sink(w);
        },
        onProgress: (p) => report(p, windows),
      });
      requireSensors(input, summary);
      err(`replay: ${summary.rows} rows, ${summary.readings} readings of ${summary.sensors.length} sensors (${summary.sensors.join(', ')}) → ${windows} windows`);
      reportUnused('replay', summary, err);
      complete = true;
    } catch (error) {
      if (error instanceof ReplayError) throw new UsageError(`${input}: ${error.message}`);
      throw error;
    } finally {
      await finish(complete);
    }
    return 0;
  },
};

/** The gateway's pubsub.featureBatches and keyMaxBytesPerSecond, from its configuration file (or its defaults); a bad file is a usage error naming it. */
function gatewayPublishing(file: string | undefined) {
  try {
    const { featureBatches, keyMaxBytesPerSecond } = loadGatewayConfig({ file }).pubsub;
    return { ...featureBatches, keyMaxBytesPerSecond };
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`--gateway-config: ${error.message}`);
    throw error;
  }
}
