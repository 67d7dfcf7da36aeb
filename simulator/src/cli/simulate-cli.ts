// `pdm simulate`: runs a fleet into MQTT gateways and/or dataset files until done or Ctrl-C.
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.js';
import { loadConfigFile } from '../config/load.js';
import { type ConfigOverrides, DEFAULT_FILE_START, DEFAULT_MQTT_URL, resolveConfig } from '../config/resolve.js';
import type { FileConfig } from '../config/schema.js';
import { SIMULATOR_DEFAULTS as D } from '../defaults.js';
import { PAYLOAD_FORMATS } from '../output/messages.js';
import { type Clock, systemClock } from '@pdm/clock';
import { runSimulation } from '../run/simulation.js';
import { formatInstant, parseDuration, parseInstant, parseRate, parseSpeed } from '../time/parse.js';
import { type CliIo, EXIT, FlagError, flagValue, integerIn, numberIn, oneOf } from './io.js';
import { progressLine, totalLines } from './progress-line.js';

export const SIMULATE_USAGE = `pdm simulate [--config fleet.yaml] [options]

Simulates a fleet of pumps, motors, fans and compressors with sensor physics and labelled faults,
publishing to MQTT gateways and/or writing a dataset (one CSV per machine + ground-truth.json).
Flags override the config file. Same --seed and --start give the same readings.

Options:
  --config FILE        fleet config (YAML/JSON): fleet, faults, chaos, output; see the package README
  --machines N         fleet size (default ${D.machines}, an even mix of the four types)
  --duration D         virtual time to simulate, e.g. 10m, 6h, 7d (default ${D.duration})
  --start TIME         virtual start, ISO-8601 (default: now for MQTT, ${DEFAULT_FILE_START} for files only)
  --tick D             low-rate sample interval = CSV row interval (default ${D.tick})
  --vibration-hz N     vibration sample rate, sent as one batch per tick (default ${D.vibrationHz})
  --speed X|max        virtual seconds per real second (default ${D.speed} with MQTT, max for files only)
  --rate R|max         cap on readings sent per real time, e.g. 1e6/h, 200k/s (default ${D.rate})
  --seed N             random seed (default ${D.seed})
  --fault-probability P  chance each machine develops a random fault (default ${D.faults.probability})
  --mqtt URL           gateway URL; repeat or comma-separate for several (default ${DEFAULT_MQTT_URL}
                       unless only --out is given)
  --username U, --password P   MQTT credentials
  --format F           json | batch | protobuf (default ${D.mqtt.format})
  --qos 0|1            MQTT QoS (default ${D.mqtt.qos})
  --out DIR            write <machine>.csv per machine, ground-truth.json and manifest.json here
                       (--out-dir DIR is the old spelling); --config DIR/manifest.json regenerates them
  -h, --help           show this help

CSV: time,<low-rate sensors>,vibration_rms,vibration_peak,vibration_kurtosis — one row per tick.

Exits 1 when MQTT messages were lost (a publish failed, or the gateway had not acked it when the
run ended); the totals count them.`;

const OPTIONS = {
  config: { type: 'string' },
  machines: { type: 'string' },
  duration: { type: 'string' },
  start: { type: 'string' },
  tick: { type: 'string' },
  'vibration-hz': { type: 'string' },
  speed: { type: 'string' },
  rate: { type: 'string' },
  seed: { type: 'string' },
  'fault-probability': { type: 'string' },
  mqtt: { type: 'string', multiple: true },
  username: { type: 'string' },
  password: { type: 'string' },
  format: { type: 'string' },
  qos: { type: 'string' },
  out: { type: 'string' },
  'out-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The most machines one simulation takes (--machines). */
export const MAX_MACHINES = 1_000_000;

export function positiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new RangeError(`expected a duration above zero, got "${text}"`);
  return ms;
}

function overridesFrom(values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values']): ConfigOverrides {
  const o: ConfigOverrides = {};
  const set = <K extends keyof ConfigOverrides>(key: K, value: ConfigOverrides[K] | undefined) => {
    if (value !== undefined) o[key] = value;
  };
  set('machines', flagValue('--machines', values.machines, integerIn(1, MAX_MACHINES)));
  set('durationMs', flagValue('--duration', values.duration, positiveDuration));
  set('startMs', flagValue('--start', values.start, parseInstant));
  set('tickMs', flagValue('--tick', values.tick, positiveDuration));
  set('vibrationHz', flagValue('--vibration-hz', values['vibration-hz'], numberIn(1, 50_000)));
  set('speed', flagValue('--speed', values.speed, parseSpeed));
  set('rate', flagValue('--rate', values.rate, parseRate));
  set('seed', flagValue('--seed', values.seed, integerIn(0, Number.MAX_SAFE_INTEGER)));
  set('faultProbability', flagValue('--fault-probability', values['fault-probability'], numberIn(0, 1)));
  set('format', flagValue('--format', values.format, oneOf(PAYLOAD_FORMATS)));
  set('qos', flagValue('--qos', values.qos, (t) => oneOf(['0', '1'] as const)(t) === '1' ? 1 : 0));
  set('username', values.username);
  set('password', values.password);
  // --out as in pdm train and pdm dashboards; --out-dir, its old spelling, keeps working.
  if (values.out !== undefined && values['out-dir'] !== undefined) throw new FlagError('--out-dir', 'is the old spelling of --out: give one of them');
  set('outDir', values.out ?? values['out-dir']);
  if (values.mqtt) {
    const urls = values.mqtt.flatMap((u) => u.split(',')).map((u) => u.trim()).filter(Boolean);
    for (const url of urls) {
      if (!/^(mqtts?|tcp|ssl|wss?):\/\/./.test(url)) throw new FlagError('--mqtt', `expected a URL like mqtt://host:1883, got "${url}"`);
    }
    set('mqttUrls', urls);
  }
  return o;
}

export async function runSimulateCli(argv: string[], io: CliIo, clock: Clock = systemClock): Promise<number> {
  let config;
  try {
    const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
    if (values.help) {
      io.out(SIMULATE_USAGE);
      return EXIT.ok;
    }
    const file: FileConfig = values.config ? loadConfigFile(values.config) : {};
    config = resolveConfig(file, overridesFrom(values), clock.now());
  } catch (error) {
    // A bad flag is followed by the usage, as in the other pdm commands; a bad value or file is named alone.
    const badFlag = !(error instanceof FlagError || error instanceof ConfigError);
    io.err(`pdm simulate: ${(error as Error).message}${badFlag ? `\n\n${SIMULATE_USAGE}` : ''}`);
    return EXIT.usage;
  }

  io.out(
    `Simulating ${config.machines.length} machines from ${formatInstant(config.startMs)} for ${config.durationMs / 1000} s ` +
      `(seed ${config.seed}, speed ${config.speed}, ${config.faults.length} faults scheduled)`,
  );
  if (config.mqtt) io.out(`  MQTT  ${config.mqtt.urls.join(', ')}  format ${config.mqtt.format}, QoS ${config.mqtt.qos}`);
  if (config.outDir) io.out(`  files ${config.outDir}`);

  const abort = new AbortController();
  void io.waitForStop().then((signal) => {
    io.out(`${signal}: stopping…`);
    abort.abort();
  });
  try {
    const result = await runSimulation(config, {
      clock,
      signal: abort.signal,
      onProgress: (p) => io.out(progressLine(p)),
    });
    for (const line of totalLines(result)) io.out(line);
    // Lost readings mean the gateway did not get what the run claims to have simulated: fail, so a
    // script or a test driving the pipeline notices instead of comparing against data never sent.
    const lost = result.mqtt?.lost ?? 0;
    if (lost > 0) {
      io.err(`pdm simulate: ${lost} of ${result.mqtt?.messages} MQTT messages were lost (failed, or not acknowledged when the run ended): the gateway may be missing their readings`);
      return EXIT.failure;
    }
    return EXIT.ok;
  } catch (error) {
    io.err(`pdm simulate: ${(error as Error).message}`);
    return EXIT.failure;
  }
}
