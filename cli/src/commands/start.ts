// `pdm start`: the whole system on one machine with its embedded defaults, until Ctrl-C:
// InfluxDB, the Pub/Sub emulator (persistent), the cloud processor with a model (trained on first
// start from simulated healthy operation), an edge gateway, and a simulated fleet in which a fault
// develops. Everything keeps its state under --data-dir, so the next start carries on.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { processorConfigSchema, startProcessor } from '@pdm/cloud-processor';
import { buildDashboards } from '@pdm/dashboards';
import { gatewayConfigSchema, startGateway } from '@pdm/edge-gateway';
import { startInflux } from '@pdm/influx-harness';
import { start as startEmulator } from '@pdm/pubsub-emulator';
import { noChaos, runSimulation, scheduleFaults } from '@pdm/simulator';
import { pino } from 'pino';
import { type Command, STOP_SIGNALS, UsageError } from '../command.js';
import { explainPortInUse } from './port-in-use.js';
import { hasPublishedModel, trainDemoModel } from '../local/bootstrap-model.js';
import { DEMO_MACHINES, DEMO_SEED, DEMO_TICK_MS, DEMO_VIBRATION_HZ, demoFault } from '../local/demo-fleet.js';
import { chooseMqttHost, describeMqttListener, mqttUrl } from '../local/mqtt-host.js';
import { scorerStateFile } from '../local/scorer-state-file.js';
import { startStatusLine } from '../local/status-line.js';

const PROJECT = 'pdm-local';
const FEATURES_TOPIC = 'pdm-features';

/** Thrown between two start-up steps when a stop was asked: the parts started so far are stopped. */
class StopAskedDuringStart extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`${signal} during start-up`);
  }
}

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`--${flag} must be a port number, got "${value}"`);
  return n;
}

export const start: Command = {
  usage: `pdm start [--data-dir DIR] [--no-simulator] [--host ADDR] [--mqtt-port PORT] [--influx-port PORT]
          [--pubsub-port PORT] [--gateway-http-port PORT] [--processor-http-port PORT]

Starts the whole pipeline locally with embedded defaults and prints where each piece listens:
InfluxDB, the Pub/Sub emulator, the cloud processor, an edge gateway and a simulated fleet of four
pumps in which pump-3 develops an imbalance two minutes after start. On first start a model is
trained from simulated healthy operation (a few seconds). State and logs are kept under
--data-dir, so the next start carries on where this one stopped.

Options:
  --data-dir DIR               state and logs (default: .data)
  --no-simulator               run the pipeline without the simulated fleet (bring your own sensors)
  --host ADDR                  address the MQTT broker listens on (default: 127.0.0.1, this machine
                               only; 0.0.0.0 for every interface). Sensors connect without
                               credentials and may publish on sensors/#. Everything else listens on
                               127.0.0.1 only.
  --mqtt-port PORT             gateway MQTT port (default: 1883)
  --influx-port PORT           InfluxDB HTTP port on 127.0.0.1 (default: 8086)
  --pubsub-port PORT           Pub/Sub emulator gRPC port (default: 8085)
  --gateway-http-port PORT     gateway /metrics, /healthz, /readyz (default: 9464)
  --processor-http-port PORT   processor /metrics, /healthz, /readyz (default: 9465)
  (0 for any port picks a free one)
  -h, --help                   show this help`,

  async run(args, { out, err, waitForStop }) {
    const { values } = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string', default: '.data' },
        'no-simulator': { type: 'boolean', default: false },
        host: { type: 'string' },
        'mqtt-port': { type: 'string', default: '1883' },
        'influx-port': { type: 'string', default: '8086' },
        'pubsub-port': { type: 'string', default: '8085' },
        'gateway-http-port': { type: 'string', default: '9464' },
        'processor-http-port': { type: 'string', default: '9465' },
      },
      strict: true,
    });
    const dataDir = resolve(values['data-dir']);
    const mqttHost = chooseMqttHost(values.host);
    const portFlags = ['mqtt-port', 'influx-port', 'pubsub-port', 'gateway-http-port', 'processor-http-port'] as const;
    const byFlag = Object.fromEntries(portFlags.map((flag) => [flag, port(flag, values[flag])])) as Record<(typeof portFlags)[number], number>;
    const ports = {
      mqtt: byFlag['mqtt-port'],
      influx: byFlag['influx-port'],
      pubsub: byFlag['pubsub-port'],
      gatewayHttp: byFlag['gateway-http-port'],
      processorHttp: byFlag['processor-http-port'],
    };
    const logDir = join(dataDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const logTo = (name: string) => {
      const file = join(logDir, `${name}.log`);
      const destination = pino.destination({ dest: file, mkdir: true });
      // A log that cannot be written (a full disk) is said once and must not end the stack: without a
      // listener the write error is an uncaught exception. The lines wait in memory and go with the next write.
      let told = false;
      destination.on('error', (error: Error) => {
        if (!told) err(`cannot write ${file}: ${error.message}; the stack runs on`);
        told = true;
      });
      return pino({ level: 'info', name }, destination);
    };
    // Everything here talks to the local emulator: no Google credentials to look for.
    process.env.METADATA_SERVER_DETECTION ??= 'none';

    // Signals are ours before anything starts: one during start-up stops the parts started so far (at
    // the next step: the first start's training, a few seconds, is not cut short), where its default
    // would leave InfluxDB running. A closed terminal (SIGHUP) stops the stack as Ctrl-C does.
    const stopRequested = waitForStop([...STOP_SIGNALS, 'SIGHUP']);
    let stopAsked: NodeJS.Signals | undefined;
    void stopRequested.then((signal) => (stopAsked = signal));
    const startedYet = () => {
      if (stopAsked !== undefined) throw new StopAskedDuringStart(stopAsked);
    };

    // Stopped in reverse order of starting: the fleet first, InfluxDB last, so nothing in flight is lost.
    // InfluxDB runs in a process group of its own, so Ctrl-C in the terminal reaches it only through that order.
    const stops: Array<() => Promise<void>> = [];
    let exitCode = 0;
    try {
      const influx = await startInflux({ dataDir: join(dataDir, 'influxdb'), port: ports.influx, log: out, ownProcessGroup: true });
      stops.push(() => influx.stop());
      startedYet();

      const pubsub = await startEmulator({ port: ports.pubsub, dataDir: join(dataDir, 'pubsub'), logger: logTo('pubsub-emulator') });
      stops.push(() => pubsub.stop());
      startedYet();

      const grafanaDir = join(dataDir, 'grafana');
      await buildDashboards(grafanaDir, { influxUrl: influx.url });

      const registryDir = join(dataDir, 'models');
      if (!(await hasPublishedModel(registryDir))) {
        out('No anomaly model yet: training one on simulated healthy operation (first start only)…');
        const report = await trainDemoModel(registryDir, out);
        out(`  model ${report.name}@${report.version} ready (threshold ${report.threshold.toFixed(2)}, ${report.contract.featureNames.length} features)`);
      }
      startedYet();

      const stateFile = scorerStateFile(dataDir, out);
      const processor = await startProcessor(
        processorConfigSchema.parse({
          instanceId: 'local-processor',
          pubsub: { projectId: PROJECT, emulatorHost: pubsub.endpoint, featuresTopic: FEATURES_TOPIC, createResources: true },
          influx: { url: influx.url },
          model: { registryDir, stateFile },
          http: { host: '127.0.0.1', port: ports.processorHttp },
        }),
        { logger: logTo('processor') },
      );
      stops.push(() => processor.stop());
      startedYet();

      const gateway = await startGateway(
        gatewayConfigSchema.parse({
          gatewayId: 'local-gateway',
          siteId: 'local-site',
          // The local demo accepts anonymous sensors; a plant configures users (see the README).
          mqtt: { host: mqttHost.bind, port: ports.mqtt, allowAnonymous: true },
          http: { host: '127.0.0.1', port: ports.gatewayHttp },
          outbox: { path: join(dataDir, 'gateway', 'outbox.sqlite') },
          pubsub: { projectId: PROJECT, topic: FEATURES_TOPIC, emulatorHost: pubsub.endpoint, createTopic: true },
        }),
        { logger: logTo('gateway') },
      );
      stops.push(() => gateway.stop());
      startedYet();

      let fleetDone: Promise<unknown> = Promise.resolve();
      if (!values['no-simulator']) {
        const abort = new AbortController();
        const startMs = Date.now();
        fleetDone = runSimulation(
          {
            seed: DEMO_SEED,
            startMs,
            durationMs: 7 * 24 * 3_600_000,
            tickMs: DEMO_TICK_MS,
            vibrationHz: DEMO_VIBRATION_HZ,
            machines: DEMO_MACHINES,
            faults: scheduleFaults({ seed: DEMO_SEED, startMs, durationMs: 7 * 24 * 3_600_000, tickMs: DEMO_TICK_MS, repairMs: 2 * 3_600_000, machines: DEMO_MACHINES, explicit: [demoFault(startMs)] }),
            chaos: noChaos(),
            mqtt: { urls: [mqttUrl(mqttHost.connect, gateway.mqttPort)], qos: 0, format: 'batch' },
            speed: 1,
            rate: Infinity,
          },
          { signal: abort.signal },
        ).catch((error: unknown) => out(`simulator stopped: ${(error as Error).message}`));
        stops.push(async () => {
          abort.abort();
          await fleetDone;
        });
      }

      out('');
      out('Local stack running');
      out(`  MQTT (sensors)     ${describeMqttListener(mqttHost, gateway.mqttPort)}   topic sensors/{machineId}/{sensorId}`);
      out(`  gateway ops        http://127.0.0.1:${gateway.httpPort}/metrics  /healthz  /readyz`);
      out(`  processor ops      http://127.0.0.1:${processor.httpPort}/metrics  /healthz  /readyz`);
      out(`  Pub/Sub emulator   ${pubsub.endpoint}   (PUBSUB_EMULATOR_HOST=${pubsub.endpoint}, project ${PROJECT})`);
      out(`  InfluxDB           ${influx.url}   database pdm (InfluxQL)`);
      out(`  models             ${registryDir}   (drop a new version in; it is picked up live)`);
      out(`  Grafana            provisioning folder ${grafanaDir}/provisioning (dashboards/README.md)`);
      out(`  state and logs     ${dataDir}/`);
      if (!values['no-simulator']) out(`  simulated fleet    ${DEMO_MACHINES.map((m) => m.id).join(', ')}; pump-3 develops an imbalance in 2 minutes`);
      out('');
      out('Press Ctrl-C to stop.');
      const status = startStatusLine({ gateway, processor, influxUrl: influx.url, write: out });
      stops.push(() => Promise.resolve(status.stop()));
      // InfluxDB dying, or the processor no longer pulling from Pub/Sub, is no reason to go on: every
      // window would wait for it, unsaid.
      const influxLog = join(dataDir, 'influxdb', 'influxd.log');
      const failures = [
        influx.exited.then((code) => `InfluxDB (influxd pid ${influx.pid}) exited with code ${code} while running; see ${influxLog}`),
        processor.failed.then((error) => `the processor ${error.message}; see ${join(logDir, 'processor.log')}`),
      ];
      const ended = await Promise.race([stopRequested.then((signal) => ({ signal })), ...failures.map((failed) => failed.then((problem) => ({ problem })))]);
      if ('problem' in ended) {
        err(ended.problem);
        exitCode = 1;
      }
      out(`${'signal' in ended ? ended.signal : 'a part failed'}: stopping…`);
    } catch (error) {
      if (!(error instanceof StopAskedDuringStart)) throw explainPortInUse(error, byFlag);
      out(`${error.signal} during start-up: stopping…`);
    } finally {
      // Every part is stopped, whichever failed to: one failing must not leave the others running.
      for (const stop of stops.reverse()) {
        try {
          await stop();
        } catch (error) {
          err(`stopping: ${(error as Error).message}`);
          exitCode = 1;
        }
      }
    }
    out(exitCode === 0 ? 'stopped cleanly.' : 'stopped, with the errors above.');
    return exitCode;
  },
};
