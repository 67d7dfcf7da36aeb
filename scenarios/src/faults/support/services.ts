// The pipeline's parts as the fault tests run them: one configuration per part (a gateway with
// 1 s windows and no health reports, so every message on the feature topic carries windows —
// pdm.v1.FeatureBatch messages, the gateway's default, counted in windows by the helpers below; a
// processor with short back-offs), started in-process where the test needs the handle, or as a
// `pdm` child process where the test kills it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processorConfigSchema, startProcessor, type ProcessorConfigInput, type RunningProcessor } from '@pdm/cloud-processor';
import { gatewayConfigSchema, hashPassword, startGateway, windowsOfMessage, type GatewayConfigInput, type RunningGateway } from '@pdm/edge-gateway';
import type { EmulatorStats } from '@pdm/pubsub-emulator';
import { PROJECT } from '@pdm/pubsub-emulator/testing';
import type { MachineWindow } from '@pdm/proto';
import { pino } from 'pino';
import { WINDOW_MS } from './fleet-shape.js';
import { metricValue, scrape } from '../../prometheus-text.js';
import { type PdmProcess, startPdm } from '../../processes/pdm-process.js';

export const FEATURES_TOPIC = `projects/${PROJECT}/topics/pdm-features`;
export const SUBSCRIPTION = `projects/${PROJECT}/subscriptions/pdm-features-processor`;

const silent = pino({ level: 'silent' });

/** How often the gateway checkpoints its window state: a SIGKILL loses at most the readings of one interval. */
export const CHECKPOINT_INTERVAL_MS = 1_000;
/** How late a reading may arrive and still fill its window (production's setting). */
export const ALLOWED_LATENESS_MS = 2_000;

/** The fleet's MQTT user: the gateway runs with a users file and no anonymous access, as in production. */
export const FLEET_USER = { username: 'faults-fleet', password: 'fleet-secret', publish: ['sensors/+/+'] };

/** Writes a users file admitting `users` (scrypt hashes, as `pdm gateway hash-password` makes them). */
export async function writeUsersFile(dir: string, users: ReadonlyArray<{ username: string; password: string; publish: string[] }>): Promise<string> {
  const entries = await Promise.all(users.map(async (u) => ({ username: u.username, passwordHash: await hashPassword(u.password), publish: u.publish, subscribe: [] })));
  return writeConfigFile(dir, 'users', { users: entries });
}

export function gatewayConfig(o: { mqttPort: number; httpPort: number; outboxPath: string; emulatorHost: string; usersFile: string }): GatewayConfigInput {
  return {
    gatewayId: 'faults-gateway',
    siteId: 'faults-site',
    mqtt: { host: '127.0.0.1', port: o.mqttPort, allowAnonymous: false, usersFile: o.usersFile },
    http: { host: '127.0.0.1', port: o.httpPort },
    // Production's lateness and late mode. The idle timeout closes each machine's last windows soon
    // after the fleet stops.
    windows: { windowMs: WINDOW_MS, allowedLatenessMs: ALLOWED_LATENESS_MS, lateMode: 'revise', idleTimeoutMs: 2_000, tickMs: 200 },
    outbox: { path: o.outboxPath, checkpointIntervalMs: CHECKPOINT_INTERVAL_MS },
    pubsub: {
      projectId: PROJECT,
      topic: 'pdm-features',
      emulatorHost: o.emulatorHost,
      batchMaxMilliseconds: 5,
      // Shorter than the outages below: failed publishes go back to the outbox and are retried by
      // the gateway's own back-off, the path a long outage takes.
      publishTimeoutMs: 5_000,
      backoff: { initialMs: 100, maxMs: 1_000 },
    },
    health: { intervalMs: 0 },
    log: { level: 'warn' },
    shutdownTimeoutMs: 5_000,
  };
}

export function processorConfig(o: { emulatorHost: string; influxUrl: string; registryDir: string; instanceId?: string }): ProcessorConfigInput {
  return {
    instanceId: o.instanceId ?? 'faults-processor',
    pubsub: { projectId: PROJECT, emulatorHost: o.emulatorHost, createResources: true, transientBackoff: { initialMs: 50, maxMs: 1_000 } },
    influx: { url: o.influxUrl, batchMaxDelayMs: 20 },
    model: { registryDir: o.registryDir },
    http: { host: '127.0.0.1', port: 0 },
    pipelineReportIntervalMs: 0,
    log: { level: 'warn' },
  };
}

export function writeConfigFile(dir: string, name: string, config: object): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export function startGatewayHere(config: GatewayConfigInput): Promise<RunningGateway> {
  return startGateway(gatewayConfigSchema.parse(config), { logger: silent });
}

export function startProcessorHere(config: ProcessorConfigInput): Promise<RunningProcessor> {
  return startProcessor(processorConfigSchema.parse(config), { logger: silent });
}

/** Windows this in-process processor wrote and acked, alone or in batches (a redelivered window counts again). */
export function windowsAcked(processor: RunningProcessor): Promise<number> {
  return processor.metrics.value('pdm_processor_windows_acked_total');
}

/** Windows this in-process processor received, alone or in batches (a redelivered window counts again). */
export function windowsReceived(processor: RunningProcessor): Promise<number> {
  return processor.metrics.value('pdm_processor_windows_received_total');
}

/** Windows this in-process gateway published and Pub/Sub confirmed (a window published again counts again). */
export function windowsPublished(gateway: RunningGateway): Promise<number> {
  return gateway.metrics.published.get().then((m) => m.values.reduce((sum, v) => sum + v.value, 0));
}

/** What windowsOfMessages needs of a received Pub/Sub message. */
export interface FeatureMessage {
  id: string;
  publishTime: { getTime(): number };
  data: Uint8Array;
  attributes: Record<string, string>;
}

/**
 * The windows carried by messages of the feature topic, alone or in batches (the gateways here send
 * batches, the default), each message once (a tap may receive one again; an emulator restarted from
 * its data folder may number messages anew, so a message is its id and publish time).
 */
export function windowsOfMessages(messages: readonly FeatureMessage[]): MachineWindow[] {
  const seen = new Set<string>();
  return messages.flatMap((message) => {
    const key = `${message.id}@${message.publishTime.getTime()}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return windowsOfMessage(message);
  });
}

export function startGatewayProcess(configFile: string): Promise<PdmProcess> {
  return startPdm('gateway', ['gateway', '--config', configFile], /operations\s+http:\/\//);
}

export async function startProcessorProcess(configFile: string): Promise<{ process: PdmProcess; httpPort: number }> {
  const ready = /ops HTTP on port (\d+)/;
  const child = await startPdm('processor', ['processor', '--config', configFile], ready);
  const match = await child.waitForOutput(ready, 0);
  return { process: child, httpPort: Number(match[1]) };
}

export function startEmulatorProcess(o: { port: number; adminPort: number; dataDir: string }): Promise<PdmProcess> {
  // Up to ten messages of an ordering key at once, as Google's service may deliver them: the processor must keep their order itself.
  const args = ['pubsub-emulator', '--port', String(o.port), '--admin-port', String(o.adminPort), '--data-dir', o.dataDir, '--ordering-key-batch', '10'];
  return startPdm('pubsub-emulator', args, /Pub\/Sub emulator listening on/);
}

/** The processor subscription's counters in an in-process emulator (backlog, acked, redelivered…). */
export function subscriptionStats(emulator: { stats(): EmulatorStats }): EmulatorStats['subscriptions'][string] {
  const stats = emulator.stats().subscriptions[SUBSCRIPTION];
  if (!stats) throw new Error(`no subscription ${SUBSCRIPTION}`);
  return stats;
}

/** The emulator's counters as its admin endpoint reports them now. */
export async function emulatorStats(adminPort: number): Promise<EmulatorStats> {
  const response = await fetch(`http://127.0.0.1:${adminPort}/stats`, { signal: AbortSignal.timeout(5_000) });
  return (await response.json()) as EmulatorStats;
}

export type BrokerCounters = Pick<EmulatorStats, 'topics' | 'subscriptions'>;

/** The final counters an emulator process logged when it stopped (its last word on what it saw). */
export function statsAtStop(emulator: PdmProcess): BrokerCounters {
  for (const line of emulator.output().split('\n').reverse()) {
    if (!line.includes('"Pub/Sub emulator stopped"')) continue;
    return (JSON.parse(line) as { stats: BrokerCounters }).stats;
  }
  throw new Error(`the emulator logged no final stats:\n${emulator.output().slice(-2000)}`);
}

/** True once a gateway holds nothing more: no open window, no window waiting in its outbox. */
export async function gatewayDrained(httpPort: number): Promise<boolean> {
  const text = await scrape(httpPort);
  return metricValue(text, 'pdm_gateway_open_windows') === 0 && metricValue(text, 'pdm_gateway_outbox_depth') === 0;
}
