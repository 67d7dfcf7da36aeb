// Composes the gateway: MQTT broker → ingest → window engine → durable outbox → Pub/Sub publisher,
// with the operations endpoint, a health report on the same topic, a tick on the gateway clock, and
// a graceful stop.
import { PubSub, type Topic } from '@google-cloud/pubsub';
import {
  type GatewayHealth,
  type MachineWindow,
  GatewayHealthSchema,
  MachineWindowSchema,
  PUBSUB_ATTRIBUTES,
  CloseReason,
  schemaAttribute,
  encodeMachineWindow,
} from '@pdm/proto';
import type { GatewayConfig } from './config/index.js';
import { HealthReporter } from './health/index.js';
import { Ingest } from './ingest/index.js';
import { Users, startBroker, type RunningBroker } from './mqtt/index.js';
import { GatewayMetrics } from './ops/metrics.js';
import { startOpsServer, type OpsServer } from './ops/http.js';
import { LogLimiter, createLogger, type Logger } from './ops/log.js';
import { Outbox, type OutboxRecord } from './outbox/index.js';
import { OutboxPublisher } from './publisher/index.js';
import { type Clock, WindowEngine, systemClock } from './window/index.js';

export interface GatewayDependencies {
  clock?: Clock;
  logger?: Logger;
}

export interface RunningGateway {
  readonly config: GatewayConfig;
  readonly mqttPort: number;
  readonly tlsPort: number | undefined;
  readonly websocketPort: number | undefined;
  readonly httpPort: number;
  readonly metrics: GatewayMetrics;
  readonly engine: WindowEngine;
  readonly outbox: Outbox;
  /** Runs one tick now (idle timeouts, revisions, eviction, outbox bounds); the timer does this every tickMs. */
  tick(): void;
  /** Publishes one health report now (the timer does this every health.intervalMs); resolves once Pub/Sub confirmed it. */
  reportHealth(): Promise<GatewayHealth>;
  /** Stop accepting, close open windows as partial, flush what the link allows, release everything. */
  stop(): Promise<void>;
}

/** Windows waiting for the outbox when a write fails (e.g. disk full); beyond this the oldest are dropped. */
const MAX_PENDING_WINDOWS = 100_000;

const closeReasonLabel = (reason: CloseReason) => CloseReason[reason].toLowerCase();

/** The attributes the feature-message contract puts on every message of this gateway. */
const contractAttributes = (schema: Parameters<typeof schemaAttribute>[0], config: GatewayConfig): Record<string, string> => ({
  [PUBSUB_ATTRIBUTES.schema]: schemaAttribute(schema),
  [PUBSUB_ATTRIBUTES.gateway]: config.gatewayId,
  [PUBSUB_ATTRIBUTES.site]: config.siteId,
});

async function openTopic(pubsub: PubSub, config: GatewayConfig): Promise<Topic> {
  const { topic: name, batchMaxMessages, batchMaxMilliseconds, publishTimeoutMs, createTopic } = config.pubsub;
  const topic = pubsub.topic(name, {
    messageOrdering: true,
    batching: { maxMessages: batchMaxMessages, maxMilliseconds: batchMaxMilliseconds },
    gaxOpts: { timeout: publishTimeoutMs },
  });
  if (createTopic) {
    const [exists] = await topic.exists();
    if (!exists) {
      await topic.create().catch((error: { code?: number }) => {
        if (error.code !== 6) throw error; // ALREADY_EXISTS: another gateway created it first
      });
    }
  }
  return topic;
}

export async function startGateway(config: GatewayConfig, dependencies: GatewayDependencies = {}): Promise<RunningGateway> {
  const clock = dependencies.clock ?? systemClock;
  const log = dependencies.logger ?? createLogger(config.log.level);
  const limiter = new LogLimiter(10_000, () => clock.now());
  const users = config.mqtt.usersFile ? Users.load(config.mqtt.usersFile) : undefined;

  let outboxWritable = true;
  const pending: MachineWindow[] = [];
  let flushScheduled = false;

  const outbox = new Outbox({
    path: config.outbox.path,
    maxBytes: config.outbox.maxBytes,
    maxAgeMs: config.outbox.maxAgeMs,
    clock,
    onDrop: (rows, bound) => {
      metrics.outboxDropped.inc({ bound }, rows);
      log.error({ rows, bound }, 'outbox full: dropped the oldest windows (data loss)');
    },
    onError: (operation, error) => {
      metrics.outboxErrors.inc();
      limiter.maybe(`outbox:${operation}`, (suppressed) =>
        log.error({ path: config.outbox.path, operation, err: error.message, suppressed }, 'outbox delete failed; retrying'),
      );
    },
  });

  const { tickMs: _tickMs, ...windowKnobs } = config.windows;
  const engine = new WindowEngine({ ...windowKnobs, gatewayId: config.gatewayId, siteId: config.siteId, clock }, (window) => {
    window.closedAt = BigInt(clock.now());
    pending.push(window);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushPending);
    }
  });

  const metrics = new GatewayMetrics({
    openWindows: () => engine.metrics().openWindows,
    openWindowBytes: () => engine.metrics().approxStateBytes,
    lateReadings: () => {
      const { lateReadings, tooLateReadings } = engine.metrics();
      return lateReadings + tooLateReadings;
    },
    outbox: () => outbox.stats(),
    publishInFlight: () => publisher.inFlightCount(),
    mqttClients: () => broker.connectedClients(),
  });

  const { projectId, emulatorHost } = config.pubsub;
  // With an emulator there are no Google credentials to find: stop the auth library from probing
  // the GCE metadata server (a link-local address) for them.
  if (emulatorHost || process.env.PUBSUB_EMULATOR_HOST) process.env.METADATA_SERVER_DETECTION ??= 'none';
  const pubsub = new PubSub(emulatorHost ? { projectId, apiEndpoint: emulatorHost, emulatorMode: true } : { projectId });
  /** Releases what start-up had opened when a later step fails (a port taken, say), so the process can exit. */
  async function abandonStart(error: unknown, startedBroker?: RunningBroker): Promise<never> {
    await startedBroker?.close();
    await pubsub.close();
    outbox.close();
    throw error;
  }
  const topic = await openTopic(pubsub, config).catch(abandonStart);
  const publisher = new OutboxPublisher(
    outbox,
    topic,
    contractAttributes(MachineWindowSchema, config),
    { maxInFlight: config.pubsub.maxInFlight, backoff: config.pubsub.backoff },
    {
      published: (_entry, latencyMs) => {
        metrics.published.inc();
        metrics.publishLatency.observe(latencyMs / 1000);
      },
      failed: (entry, error) => {
        metrics.publishErrors.inc();
        limiter.maybe('publish', (suppressed) => log.warn({ machine: entry.machineId, err: error.message, suppressed }, 'publish failed; buffering in the outbox'));
      },
    },
    undefined,
    () => clock.now(),
  );

  /** Moves closed windows into the outbox in one transaction, then wakes the publisher. */
  function flushPending(): void {
    flushScheduled = false;
    if (pending.length === 0) return;
    const records: OutboxRecord[] = pending.map((w) => ({
      machineId: w.machineId,
      windowStart: Number(w.windowStart),
      featureVersion: w.featureVersion,
      revision: w.revision,
      payload: encodeMachineWindow(w),
    }));
    try {
      outbox.append(records);
      outboxWritable = true;
    } catch (error) {
      // Keep the windows in memory and retry on the next tick; say what failed and where.
      outboxWritable = false;
      metrics.outboxErrors.inc();
      limiter.maybe('outbox', (suppressed) =>
        log.error({ path: config.outbox.path, err: (error as Error).message, pending: pending.length, suppressed }, 'cannot write the outbox; retrying'),
      );
      if (pending.length > MAX_PENDING_WINDOWS) {
        const dropped = pending.splice(0, pending.length - MAX_PENDING_WINDOWS).length;
        metrics.outboxDropped.inc({ bound: 'write_error' }, dropped);
      }
      return;
    }
    for (const w of pending) metrics.windows.inc({ close_reason: closeReasonLabel(w.closeReason) });
    pending.length = 0;
    publisher.notify();
  }

  const ingest = new Ingest(config.validation, clock, engine, {
    accepted: (n) => metrics.readings.inc(n),
    rejected: (reason, n) => metrics.rejectedReadings(reason, n),
  });

  function republishRejection(topicName: string, reason: string, detail: string, payload: Buffer): void {
    const debugTopic = config.validation.debugTopic;
    if (!debugTopic) return;
    const body = JSON.stringify({ topic: topicName, reason, detail, payload: payload.subarray(0, 1024).toString('base64') });
    broker.aedes.publish({ cmd: 'publish', topic: `${debugTopic}/${reason}`, payload: Buffer.from(body), qos: 0, retain: false, dup: false }, () => {});
  }

  // The hooks above run only once the broker exists: they are called from its handlers.
  const broker: RunningBroker = await startBroker(
    { ...config.mqtt, users },
    {
      onPublish: (topicName, payload) => {
        const outcome = ingest.handle(topicName, payload);
        const rejection = outcome.rejection;
        if (!rejection) return;
        limiter.maybe(`reject:${rejection.reason}`, (suppressed) =>
          log.warn({ topic: topicName, reason: rejection.reason, detail: rejection.message, suppressed }, 'reading rejected'),
        );
        republishRejection(topicName, rejection.reason, rejection.message, payload);
      },
      onRefusedPublish: (reason, clientId, topicName) => {
        ingest.refuse(reason, `client ${clientId} may not publish on ${topicName}`);
        log.warn({ clientId, topic: topicName }, 'publish refused by ACL; client disconnected');
      },
      onRefusedConnect: (reason, clientId, username) => {
        metrics.connectRefused.inc({ reason });
        log.warn({ clientId, username, reason }, 'connection refused');
      },
      onClientError: (clientId, error) => log.debug({ clientId, err: error.message }, 'client error'),
    },
  ).catch(abandonStart);

  const ops: OpsServer = await startOpsServer(config.http, metrics.registry, {
    broker: () => ({ ok: true, detail: `listening on ${broker.port}, ${broker.connectedClients()} clients` }),
    outbox: () => ({ ok: outboxWritable, detail: outboxWritable ? `depth ${outbox.stats().depth}` : `cannot write ${config.outbox.path}` }),
    publisher: () => {
      const state = publisher.state();
      return { ok: state !== 'stopped', detail: state === 'backing_off' ? 'buffering: Pub/Sub unreachable' : state };
    },
  }).catch((error: unknown) => abandonStart(error, broker));

  function tick(): void {
    engine.tick();
    flushPending();
    outbox.enforceBounds();
  }
  const timer = setInterval(tick, config.windows.tickMs);
  timer.unref();

  const health = new HealthReporter(
    metrics,
    topic,
    { gatewayId: config.gatewayId, siteId: config.siteId, intervalMs: config.health.intervalMs, attributes: contractAttributes(GatewayHealthSchema, config) },
    clock,
    { failed: (error) => limiter.maybe('health', (suppressed) => log.warn({ err: error.message, suppressed }, 'health report not published')) },
  );
  health.start();

  // Replay what an earlier run left in the outbox.
  publisher.notify();
  log.info({ mqttPort: broker.port, httpPort: ops.port, outbox: config.outbox.path, topic: config.pubsub.topic, replaying: outbox.stats().depth }, 'gateway started');

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    clearInterval(timer);
    health.stop();
    await broker.close();
    engine.flush();
    flushPending();
    await publisher.stop(config.shutdownTimeoutMs);
    await pubsub.close();
    const left = outbox.stats().depth;
    outbox.close();
    await ops.close();
    log.info({ leftInOutbox: left }, left > 0 ? 'gateway stopped; unpublished windows stay in the outbox for the next start' : 'gateway stopped');
  }

  return {
    config,
    mqttPort: broker.port,
    tlsPort: broker.tlsPort,
    websocketPort: broker.websocketPort,
    httpPort: ops.port,
    metrics,
    engine,
    outbox,
    tick,
    reportHealth: () => health.report(),
    stop: () => (stopping ??= stop()),
  };
}
