// Test plumbing for gateway tests: a Pub/Sub emulator, a subscription on the gateway's topic, and a
// gateway on free ports with a manual clock, silent logs and an outbox in a throw-away folder. The
// gateway sends what it sends by default (pdm.v1.FeatureBatch messages): tests count windows, not
// messages; a test of the single-window path turns pubsub.featureBatches off itself.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import type { MachineWindow } from '@pdm/proto';
import { Collector, PROJECT, startTestEmulator, type TestEmulator, uniqueId, until } from '@pdm/pubsub-emulator/testing';
import type { Message } from '@google-cloud/pubsub';
import { type Logger, pino } from 'pino';
import { type GatewayConfigInput, gatewayConfigSchema } from '../config/index.js';
import { type RunningGateway, startGateway } from '../gateway.js';
import { windowsOfMessage } from '../publisher/index.js';
import { ManualClock } from '@pdm/clock';

export const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

export interface GatewayTestbed {
  pubsub: TestEmulator;
  clock: ManualClock;
  gateway: RunningGateway;
  collector: Collector;
  dataDir: string;
  config(overrides?: GatewayConfigInput): GatewayConfigInput;
  restartGateway(overrides?: GatewayConfigInput, logger?: Logger): Promise<RunningGateway>;
  /** The feature windows delivered so far, in delivery order. */
  windows(): MachineWindow[];
  /** Resolves with the windows delivered once there are at least `count`; rejects after timeoutMs of real time. */
  waitForWindows(count: number, timeoutMs?: number): Promise<MachineWindow[]>;
  close(): Promise<void>;
}

/** The feature windows of the topic's messages, alone or in batches (the topic also carries the gateway's health reports). */
export const decodeWindows = (messages: readonly Message[]): MachineWindow[] => messages.flatMap(windowsOfMessage);

export async function startGatewayTestbed(overrides: GatewayConfigInput = {}): Promise<GatewayTestbed> {
  const pubsub = await startTestEmulator();
  const clock = new ManualClock(T0);
  const dataDir = makeTestDataDir('gateway');
  const topicName = uniqueId('features');
  const base: GatewayConfigInput = {
    gatewayId: 'gw-test',
    siteId: 'plant-test',
    mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true },
    http: { host: '127.0.0.1', port: 0 },
    outbox: { path: join(dataDir, 'outbox.sqlite') },
    // The tick runs when the test calls gateway.tick(), after advancing the manual clock.
    windows: { tickMs: 3_600_000 },
    // Health reports go out when a test calls gateway.reportHealth(), not on a wall-clock timer.
    health: { intervalMs: 0 },
    pubsub: {
      projectId: PROJECT,
      topic: topicName,
      emulatorHost: pubsub.emulator.endpoint,
      createTopic: true,
      batchMaxMilliseconds: 1,
      publishTimeoutMs: 5_000,
      backoff: { initialMs: 10, maxMs: 50 },
    },
    log: { level: 'silent' },
    shutdownTimeoutMs: 5_000,
  };
  const config = (extra: GatewayConfigInput = {}): GatewayConfigInput => deepMerge(deepMerge(base, overrides), extra);
  const logger = pino({ level: 'silent' });
  let gateway = await startGateway(gatewayConfigSchema.parse(config()), { clock, logger });
  const client = pubsub.client();
  const [subscription] = await client.topic(topicName).createSubscription(uniqueId('features-sub'), { enableMessageOrdering: true });
  const collector = new Collector(client.subscription(subscription.name, { streamingOptions: { maxStreams: 1 } }));

  return {
    pubsub,
    clock,
    get gateway() {
      return gateway;
    },
    collector,
    dataDir,
    config,
    async restartGateway(extra = {}, restartLogger = logger) {
      await gateway.stop();
      gateway = await startGateway(gatewayConfigSchema.parse(config(extra)), { clock, logger: restartLogger });
      return gateway;
    },
    windows: () => decodeWindows(collector.messages),
    async waitForWindows(count, timeoutMs = 5_000) {
      await until(() => decodeWindows(collector.messages).length >= count, `${count} windows delivered`, timeoutMs);
      return decodeWindows(collector.messages);
    },
    async close() {
      await gateway.stop();
      await collector.subscription.close();
      await pubsub.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function deepMerge<T>(a: T, b: T): T {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null || Array.isArray(b)) return b ?? a;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [key, value] of Object.entries(b as Record<string, unknown>)) {
    out[key] = key in out ? deepMerge(out[key], value) : value;
  }
  return out as T;
}

export async function metricValue(gateway: RunningGateway, name: string, labels = ''): Promise<number> {
  const text = await gateway.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
