// `pdm gateway`: runs the edge gateway until SIGTERM/SIGINT, or helps write its users file
// (`pdm gateway hash-password`). Returns the exit code: 2 for a bad flag or config or no usable Google
// credentials, 1 for a failure.
import { parseArgs } from 'node:util';
import { HIDDEN, hidePassword, logFormatFlag } from '@pdm/config';
import { ConfigError, type GatewayConfig, loadGatewayConfig } from './config/index.js';
import { type RunningGateway, startGateway } from './gateway.js';
import { TlsFileError, Users, UsersFileError, hashPassword } from './mqtt/index.js';
import { usesPubSubEmulator } from './publisher/index.js';
import { windowEngineOptionsSchema } from './window/index.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  waitForStop(): Promise<NodeJS.Signals>;
  /** Calls `reload` on each request to reload (default: SIGHUP to this process); returns the unsubscribe. */
  onReloadRequest?(reload: () => void): () => void;
  /** Standard input as text, for `hash-password` without --password. */
  readStdin?(): Promise<string>;
}

export const GATEWAY_USAGE = `pdm gateway [--config FILE] [--print-config] [--log-format auto|json|pretty]
pdm gateway hash-password [--password PASSWORD]

Runs the edge gateway: an MQTT broker (default port 1883) that validates every reading, windows it
per machine and sensor, and forwards the closed windows to Pub/Sub through a durable outbox, as
FeatureBatch messages (the windows closed together, per shard; pubsub.featureBatches.enabled: false
sends one message per machine and window, for processors older than the batch message).
Signals:
  SIGTERM, SIGINT (Ctrl-C)  stop gracefully: open windows are closed as partial and flushed as far
                    as the link allows; what is left stays in the outbox for the next start
  SIGHUP            reload the users file and the TLS certificate, key and CA bundle: connected
                    clients stay connected, new connections meet the new ones; a bad file is
                    refused (logged, counted in pdm_gateway_reload_total{result="refused"}) and
                    the previous ones stay in force
  Signals are taken over before the start (which takes seconds: the Pub/Sub connection, restoring
  the windows): a stop asked during the start stops the gateway once it is up, a reload asked
  during the start is applied once it is up.
Bridge mode (config bridge.upstreams): the gateway also subscribes to the plant's own MQTT brokers
and maps their topics and payloads onto readings, so devices need not be re-pointed.

Options:
  --config FILE     YAML or JSON configuration (every key has a default; see the README)
  --print-config    print the effective configuration (file + PDM_GATEWAY_* env, defaults
                    included, secrets hidden) as JSON and exit
  --log-format F    log lines on standard output as json, pretty (readable), or auto (the
                    default, config log.format): pretty on a terminal, json otherwise
  -h, --help        show this help

Output: log lines (and --print-config, hash-password) on standard output, so \`pdm gateway | jq\`
works; the start banner, warnings and errors on standard error.

Environment:
  PDM_GATEWAY_<KEY>[__<KEY>]=value overrides one key, e.g. PDM_GATEWAY_MQTT__PORT=1884
  PUBSUB_EMULATOR_HOST=host:port  use a Pub/Sub emulator instead of Google Cloud
  GOOGLE_APPLICATION_CREDENTIALS=key.json  Google credentials (else Application Default Credentials);
                    without usable credentials the gateway exits 2 at start

hash-password prints a scrypt hash for the users file; the password comes from --password or from
standard input (so it stays out of shell history).`;

/** SIGHUP to this process, the reload signal of daemons (systemd's ExecReload=kill -HUP $MAINPID). */
function onHangup(reload: () => void): () => void {
  process.on('SIGHUP', reload);
  return () => process.off('SIGHUP', reload);
}

/**
 * The configuration as --print-config shows it (it may go to a ticket or a log): the window engine's
 * defaults filled in for the window keys left out, upstream passwords hidden (in `password` and in the
 * URL). Printed as JSON, which is YAML too, so it can be fed back with --config — as the processor's.
 */
export function printableGatewayConfig(config: GatewayConfig): GatewayConfig {
  const { tickMs, ...knobs } = config.windows;
  const engine = windowEngineOptionsSchema.parse({ ...knobs, gatewayId: config.gatewayId, siteId: config.siteId });
  const { windowMs, allowedLatenessMs, idleTimeoutMs, lateMode, reviseHorizonMs, maxSensorLagMs, sensorRates, evictAfterMs, hopMs } = engine;
  const upstreams = config.bridge.upstreams.map((upstream) => ({
    ...upstream,
    url: hidePassword(upstream.url),
    ...(upstream.password === undefined ? {} : { password: HIDDEN }),
  }));
  return {
    ...config,
    windows: { windowMs, allowedLatenessMs, idleTimeoutMs, lateMode, reviseHorizonMs, maxSensorLagMs, sensorRates, evictAfterMs, hopMs, tickMs },
    bridge: { ...config.bridge, upstreams },
  };
}

/** The URL without a user name or password in it, for printing. */
function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

/**
 * Why no MQTT client could ever connect with these settings, or undefined when one could: anonymous
 * clients refused, and no user who has a password (where one is taken) or whom a client certificate
 * can name (mqtt.tls.ca set).
 */
export function noClientCanConnect(mqtt: GatewayConfig['mqtt']): string | undefined {
  // Bridge only: the gateway is the client, of brokers it is configured for.
  if (!mqtt.enabled || mqtt.allowAnonymous) return undefined;
  const certificates = mqtt.tls?.ca !== undefined;
  // Passwords are asked on the plain and WebSocket listeners, and on TLS unless a certificate is required.
  const passwords = mqtt.plain || mqtt.websocket !== undefined || (mqtt.tls !== undefined && !mqtt.tls.requireClientCert);
  if (mqtt.usersFile === undefined) return 'anonymous clients are refused (mqtt.allowAnonymous) and there is no users file (mqtt.usersFile)';
  if (Users.load(mqtt.usersFile).countReachable({ passwords, certificates }) > 0) return undefined;
  const how = certificates ? 'no user at all' : passwords ? 'no user with a password (users without one need mqtt.tls.ca)' : 'no user a certificate could name (mqtt.tls.ca is unset)';
  return `anonymous clients are refused (mqtt.allowAnonymous) and ${mqtt.usersFile} has ${how}`;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

async function runHashPassword(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { password: { type: 'string' } }, strict: true });
  const password = values.password ?? (await (io.readStdin ?? (() => readAll(process.stdin)))()).replace(/\r?\n$/, '');
  if (password.length === 0) {
    io.err('pdm gateway hash-password: the password is empty (give --password or pipe it on standard input)');
    return 2;
  }
  io.out(await hashPassword(password));
  return 0;
}

export async function runGatewayCli(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(GATEWAY_USAGE);
    return 0;
  }
  try {
    if (argv[0] === 'hash-password') return await runHashPassword(argv.slice(1), io);
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, 'print-config': { type: 'boolean' }, 'log-format': { type: 'string' } }, strict: true });
    const loaded = loadGatewayConfig({ file: values.config });
    const config = values['log-format'] === undefined ? loaded : { ...loaded, log: { ...loaded.log, format: logFormatFlag(values['log-format']) } };
    if (values['print-config']) {
      io.out(JSON.stringify(printableGatewayConfig(config), null, 2));
      return 0;
    }
    const emulator = usesPubSubEmulator(config.pubsub.emulatorHost);
    // With an emulator there are no Google credentials to find: this process tells Google's auth
    // library not to probe the GCE metadata server (a link-local address) for them.
    if (emulator) process.env.METADATA_SERVER_DETECTION ??= 'none';
    // Before the start, as it reads the users file: a file gone bad throws here, with nothing to stop yet.
    const unreachable = noClientCanConnect(config.mqtt);
    // Signals are taken over before the start, which takes seconds (the Pub/Sub connection, restoring the
    // windows), instead of the default for SIGTERM and SIGHUP (exit at once): a stop asked meanwhile stops
    // the gateway gracefully once it is up, and a reload asked meanwhile is applied once it is up (the
    // files may have changed after the start read them).
    const stopRequested = io.waitForStop();
    let gateway: RunningGateway | undefined;
    let reloadAskedDuringStart = false;
    const stopReloading = (io.onReloadRequest ?? onHangup)(() => {
      if (gateway) gateway.reloadCredentials();
      else reloadAskedDuringStart = true;
    });
    try {
      gateway = await startGateway(config);
      if (reloadAskedDuringStart) {
        io.err('pdm gateway: reloading the users file and certificates, as asked during the start');
        gateway.reloadCredentials();
      }
      if (unreachable !== undefined) io.err(`pdm gateway: warning: no MQTT client can connect: ${unreachable}`);
      io.err(`edge gateway ${config.gatewayId} (site ${config.siteId})`);
      const anonymous = config.mqtt.allowAnonymous ? ' (anonymous allowed)' : '';
      if (!config.mqtt.enabled) io.err('  MQTT        off (mqtt.enabled: false, bridge only)');
      else io.err(config.mqtt.plain ? `  MQTT        mqtt://${config.mqtt.host}:${gateway.mqttPort}${anonymous}` : '  MQTT        off (mqtt.plain: false, TLS only)');
      const tls = config.mqtt.tls;
      const certificates = tls?.ca === undefined ? '' : tls.requireClientCert ? ' (client certificate required)' : ' (client certificates accepted)';
      if (gateway.tlsPort !== undefined) io.err(`  MQTT/TLS    mqtts://${config.mqtt.host}:${gateway.tlsPort}${certificates}`);
      if (gateway.websocketPort !== undefined) io.err(`  MQTT/WS     ws://${config.mqtt.host}:${gateway.websocketPort}${config.mqtt.websocket?.path ?? ''}`);
      io.err(`  operations  http://${config.http.host}:${gateway.httpPort}/metrics  /healthz  /readyz`);
      io.err(`  Pub/Sub     projects/${config.pubsub.projectId}/topics/${config.pubsub.topic}${emulator ? ' (emulator)' : ''}`);
      io.err(`  outbox      ${config.outbox.path}`);
      for (const upstream of config.bridge.upstreams) io.err(`  bridge      ${upstream.name} ← ${withoutCredentials(upstream.url)} (${upstream.mappings.length} topic mappings${upstream.sparkplug ? ', Sparkplug B' : ''})`);
      const signal = await stopRequested;
      io.err(`${signal}: stopping the gateway…`);
    } finally {
      // However the run ends, a throw included: a gateway left running would keep the process up and
      // serving, and the first SIGTERM would go to a stop listener no one awaits any more.
      stopReloading();
      await gateway?.stop();
    }
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const badFlag = typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
    const usage = badFlag || error instanceof ConfigError || error instanceof UsersFileError || error instanceof TlsFileError;
    // A bad flag is followed by the usage, as in the other pdm commands.
    io.err(`pdm gateway: ${(error as Error).message}${badFlag ? `\n\n${GATEWAY_USAGE}` : ''}`);
    return usage ? 2 : 1;
  }
}
