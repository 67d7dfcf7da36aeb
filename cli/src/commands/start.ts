// `pdm start`: brings up the local stack with its embedded defaults and keeps it running until Ctrl-C.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startInflux } from '@pdm/influx-harness';
import { type Command, UsageError } from '../command.js';

/** Pieces of the local stack that `pdm start` cannot run yet, with the issue that builds each. */
const NOT_BUILT_YET = [
  'Pub/Sub emulator (pubsub-emulator/)',
  'edge gateway with embedded MQTT broker (edge-gateway/)',
  'cloud processor with anomaly models (cloud-processor/)',
  'simulated machine fleet (simulator/)',
  'Grafana dashboards as code (dashboards/)',
];

export const start: Command = {
  summary: 'run the local stack (InfluxDB now; the rest as it is built) until Ctrl-C',
  usage: `pdm start [--data-dir DIR] [--influx-port PORT]

Starts every piece of the local pipeline with embedded defaults and prints where each one listens.
State is kept under --data-dir (default .data/ in the current folder), so the next start carries on.

Options:
  --data-dir DIR       where the stack keeps its state (default: .data)
  --influx-port PORT   InfluxDB HTTP port on 127.0.0.1 (default: 8086; 0 picks a free one)
  -h, --help           show this help`,

  async run(args, { out, waitForStop }) {
    const { values } = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string', default: '.data' },
        'influx-port': { type: 'string', default: '8086' },
      },
      strict: true,
    });
    const influxPort = Number(values['influx-port']);
    if (!Number.isInteger(influxPort) || influxPort < 0 || influxPort > 65535) {
      throw new UsageError(`--influx-port must be a port number, got "${values['influx-port']}"`);
    }
    const influx = await startInflux({ dataDir: join(values['data-dir'], 'influxdb'), port: influxPort, log: out });
    out('');
    out('Local stack');
    out(`  InfluxDB   ${influx.url}  (InfluxQL; data in ${influx.dataDir})`);
    out('');
    out('Not built yet, so not started:');
    for (const piece of NOT_BUILT_YET) out(`  - ${piece}`);
    out('');
    out('Running. Press Ctrl-C to stop.');
    const signal = await waitForStop();
    out(`${signal}: stopping…`);
    await influx.stop();
    out('stopped cleanly.');
    return 0;
  },
};
