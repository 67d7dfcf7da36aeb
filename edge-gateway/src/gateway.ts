// Composes the gateway: MQTT broker → ingest → window engine → outbox writer → durable outbox →
// Pub/Sub publisher, with the operations endpoint, a health report on the same topic, a tick and a
// checkpoint of the window state on the gateway clock, and a graceful stop. It only wires: each
// stage is its own module.
import { type Clock, every, systemClock } from '@pdm/clock';
import { resolveLogFormat } from '@pdm/config';
import { type GatewayHealth, GatewayHealthSchema, CloseReason, pubsubAttributes } from '@pdm/proto';
import type { GatewayConfig } from './config/index.js';
import { Bridge, BridgeMetrics } from './bridge/index.js';
import { HealthReporter } from './health/index.js';
import { Ingest, type IngestRejection } from './ingest/index.js';
import { loadCredentials, startBroker, type RunningBroker } from './mqtt/index.js';
import { GatewayMetrics } from './ops/metrics.js';
import { startOpsServer, type OpsServer } from './ops/http.js';
import { LogLimiter, createLogger, type Logger } from './ops/log.js';
import { MAX_PENDING_WINDOWS, Outbox, OutboxWriter } from './outbox/index.js';
import { OutboxPublisher, connectPubSub, featureBatchMessages, openFeatureTopic, singleWindowMessages } from './publisher/index.js';
import { SparkplugIngest, SparkplugMetrics } from './sparkplug/index.js';
import { WindowEngine } from './window/index.js';

export interface GatewayDependencies {
  /** The gateway clock: event-time bounds, idle timeouts, the tick, back-off, health reports. */
  clock?: Clock;
  logger?: Logger;
}

export interface RunningGateway {
  readonly config: GatewayConfig;
  /** The plain MQTT listener's port; 0 when mqtt.plain is off (TLS-only: nothing listens) or mqtt.enabled is (bridge only). */
  readonly mqttPort: number;
  readonly tlsPort: number | undefined;
  readonly websocketPort: number | undefined;
  readonly httpPort: number;
  readonly metrics: GatewayMetrics;
  readonly engine: WindowEngine;
  readonly outbox: Outbox;
  /** Runs one tick now (idle timeouts, revisions, eviction, outbox bounds); the clock does this every tickMs. */
  tick(): void;
  /** Publishes one health report now (the clock does this every health.intervalMs); resolves once Pub/Sub confirmed it. */
  reportHealth(): Promise<GatewayHealth>;
  /**
   * Reads the users file and the TLS certificate, key and CA bundle again (SIGHUP): new connections
   * meet them, connected clients stay as they are. A bad file refuses the reload (logged, counted) and
   * the previous users and certificates stay in force; the result says which.
   */
  reloadCredentials(): { ok: true } | { ok: false; error: string };
  /** Stop accepting, close open windows as partial, flush what the link allows, release everything. */
  stop(): Promise<void>;
}

const closeReasonLabel = (reason: CloseReason) => CloseReason[reason].toLowerCase();

export async function startGateway(config: GatewayConfig, dependencies: GatewayDependencies = {}): Promise<RunningGateway> {
  const clock = dependencies.clock ?? systemClock;
  const log = dependencies.logger ?? createLogger(config.log.level, 'edge-gateway', resolveLogFormat(config.log.format));
  const limiter = new LogLimiter(10_000, () => clock.now());
  // Bridge only (mqtt.enabled: false): no embedded broker, so no users or certificates of its own.
  const credentials = config.mqtt.enabled ? loadCredentials(config.mqtt) : {};
  const source = { gatewayId: config.gatewayId, siteId: config.siteId };
  // First: without usable Google credentials the gateway does not start (a ConfigError saying what to set).
  const pubsub = await connectPubSub(config.pubsub);

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
    onConflict: (record) => {
      metrics.windowConflicts.inc();
      log.error(
        { machine: record.machineId, windowStart: record.windowStart, revision: record.revision },
        'window refused: its idempotency key is in the outbox with other content (the first is kept)',
      );
    },
  });

  const writer = new OutboxWriter(outbox, {
    written: (windows, more) => {
      // One inc per close reason a slice holds, not per window: each inc hashes its labels.
      const byReason = new Map<CloseReason, number>();
      for (const w of windows) byReason.set(w.closeReason, (byReason.get(w.closeReason) ?? 0) + 1);
      for (const [reason, count] of byReason) metrics.windows.inc({ close_reason: closeReasonLabel(reason) }, count);
      // The slices of one boundary go out together: one batch per shard, not one per slice.
      if (!more) publisher.notify();
    },
    writeFailed: (error, pending) => {
      metrics.outboxErrors.inc();
      limiter.maybe('outbox', (suppressed) =>
        log.error({ path: config.outbox.path, err: error.message, pending, suppressed }, 'cannot write the outbox; retrying'),
      );
    },
    dropped: (windows) => metrics.outboxDropped.inc({ bound: 'write_error' }, windows),
    checkpointed: (_machines, bytes, seconds) => {
      metrics.checkpointDuration.observe(seconds);
      metrics.checkpointBytes.set(bytes);
    },
  }, MAX_PENDING_WINDOWS, {
    changedMachines: () => engine.changedMachines(),
    checkpoint: (machineId, complete) => engine.checkpoint(machineId, complete),
    notWritten: (machineId) => engine.checkpointNotWritten(machineId),
  });

  const { tickMs: _tickMs, ...windowKnobs } = config.windows;
  const engine = new WindowEngine(
    // A machine the engine does not hold (forgotten, or not restored below) carries on from its checkpoint.
    { ...windowKnobs, ...source, clock, recall: (machineId) => outbox.checkpointOf(machineId) },
    (window) => writer.add(window),
  );
  // The machines the engine would still hold had it not stopped (seen within its eviction time), as
  // many as the gateway holds at most; the others are recalled when they send again.
  for (const checkpoint of outbox.checkpoints(clock.now() - engine.evictAfterMs, config.validation.maxMachines)) engine.restore(checkpoint);
  const restored = engine.metrics();

  const metrics: GatewayMetrics = new GatewayMetrics({
    openWindows: () => engine.metrics().openWindows,
    openWindowBytes: () => engine.metrics().approxStateBytes,
    lateReadings: () => {
      const { lateReadings, tooLateReadings } = engine.metrics();
      return lateReadings + tooLateReadings;
    },
    outbox: () => outbox.stats(),
    publishInFlight: () => publisher.inFlightCount(),
    mqttClients: () => broker?.connectedClients() ?? 0,
  });
  metrics.restoredMachines.set(restored.machinesRestored);
  metrics.checkpointsDropped.inc(outbox.refusedCheckpoints);
  if (outbox.refusedCheckpoints > 0 || restored.checkpointsRefused > 0) {
    log.warn(
      { refused: outbox.refusedCheckpoints + restored.checkpointsRefused },
      'checkpoints of another version refused: those machines start afresh (a window of theirs sent again under a used key is refused by the processor)',
    );
  }
  metrics.restoredOpenWindows.set(restored.openWindows);
  const { featureBatches } = config.pubsub;
  const layout = featureBatches.enabled ? `FeatureBatch messages of ${featureBatches.shards} shards` : 'one MachineWindow per message';
  const layoutBefore = outbox.wireLayoutChange(layout);
  if (layoutBefore !== undefined) {
    log.warn(
      { before: layoutBefore, now: layout, outboxDepth: outbox.stats().depth },
      "the windows' ordering keys changed since the last start: until the processors have handled what went out before, a machine's older window may be handled after a newer one (stored, but passed over by the alert rule); change this with the outbox drained and the subscription's backlog processed",
    );
  }

  /** Releases what start-up had opened when a later step fails (a port taken, say), so the process can exit. */
  async function abandonStart(error: unknown, startedBroker?: RunningBroker): Promise<never> {
    await startedBroker?.close();
    await pubsub.close();
    outbox.close();
    throw error;
  }
  const topic = await openFeatureTopic(pubsub, config.pubsub).catch(abandonStart);
  const publisher = new OutboxPublisher(
    outbox,
    topic,
    config.pubsub.featureBatches.enabled ? featureBatchMessages(source, config.pubsub.featureBatches) : singleWindowMessages(source),
    { maxInFlight: config.pubsub.maxInFlight, backoff: config.pubsub.backoff, keyMaxBytesPerSecond: config.pubsub.keyMaxBytesPerSecond },
    {
      published: (_entry, latencyMs) => {
        metrics.published.inc();
        metrics.publishLatency.observe(latencyMs / 1000);
      },
      failed: (entry, error) => {
        metrics.publishErrors.inc();
        limiter.maybe('publish', (suppressed) => log.warn({ machine: entry.machineId, err: error.message, suppressed }, 'publish failed; buffering in the outbox'));
      },
      readFailed: (error) => {
        metrics.outboxErrors.inc();
        limiter.maybe('outbox:read', (suppressed) => log.error({ path: config.outbox.path, err: error.message, suppressed }, 'cannot read the outbox to publish; retrying'));
      },
    },
    clock,
  );

  const ingest = new Ingest(config.validation, clock, engine, {
    accepted: (n) => metrics.readings.inc(n),
    rejected: (reason, n) => metrics.rejectedReadings(reason, n),
  });

  function republishRejection(topicName: string, reason: string, detail: string, payload: Buffer): void {
    const debugTopic = config.validation.debugTopic;
    if (!debugTopic) return;
    const body = JSON.stringify({ topic: topicName, reason, detail, payload: payload.subarray(0, 1024).toString('base64') });
    broker?.publish(`${debugTopic}/${reason}`, Buffer.from(body));
  }

  function reportRejection(topicName: string, payload: Buffer, rejection: IngestRejection): void {
    limiter.maybe(`reject:${rejection.reason}`, (suppressed) =>
      log.warn({ topic: topicName, reason: rejection.reason, detail: rejection.message, suppressed }, 'reading rejected'),
    );
    republishRejection(topicName, rejection.reason, rejection.message, payload);
  }

  // A Sparkplug B host: edge nodes' births, aliases and sequence numbers, one per broker they publish
  // to (the embedded one, each upstream with `sparkplug`); `publish` reaches that broker's edge nodes.
  const sparkplugMetrics = new SparkplugMetrics(metrics.registry);
  const sparkplugHost = (publish: (topicName: string, payload: Buffer) => void) =>
    new SparkplugIngest(config.sparkplug, {
      ingest,
      maxPayloadBytes: config.validation.maxPayloadBytes,
      maxNodes: config.validation.maxMachines,
      metrics: sparkplugMetrics,
      clock,
      publish,
      // A death closes the machine's windows now instead of at the idle timeout.
      offline: (machineId) => {
        engine.closeMachine(machineId);
        log.info({ machine: machineId }, 'sparkplug: machine offline; its windows closed');
      },
      rejected: reportRejection,
      log,
      limiter,
    });

  // Plant brokers the gateway subscribes to (bridge mode): their messages take the same ingest.
  let bridge: Bridge;
  try {
    bridge = new Bridge(config.bridge.upstreams, config.gatewayId, { ingest, metrics: new BridgeMetrics(metrics.registry), clock, log, limiter, rejected: reportRejection, sparkplug: sparkplugHost });
  } catch (error) {
    return abandonStart(error);
  }

  // Sparkplug B edge nodes on the embedded broker: their metrics take the same ingest.
  const sparkplug = sparkplugHost((topicName, payload) => broker?.publish(topicName, payload));

  // The hooks above run only once the broker exists: they are called from its handlers.
  const broker: RunningBroker | undefined = !config.mqtt.enabled ? undefined : await startBroker(
    { ...config.mqtt, credentials, redeliveryClients: config.mqtt.rememberedClients ?? config.validation.maxMachines, clock },
    {
      onPublish: (topicName, payload, username) => {
        if (SparkplugIngest.owns(topicName)) return sparkplug.handle(topicName, payload, username);
        const outcome = ingest.handle(topicName, payload, username);
        if (outcome.rejection) reportRejection(topicName, payload, outcome.rejection);
      },
      onRedelivery: () => metrics.redeliveries.inc(),
      onRedeliveryMemoryFull: () => {
        metrics.redeliveryMemoryFull.inc();
        limiter.maybe('redelivery-memory-full', (suppressed) =>
          log.warn({ suppressed }, 'redelivery memory full: a connected client was forgotten, its repeats may be ingested twice; raise mqtt.rememberedClients'),
        );
      },
      onRefusedPublish: (reason, clientId, topicName) => {
        ingest.refuse(reason, `client ${clientId} may not publish on ${topicName}`);
        limiter.maybe(`reject:${reason}`, (suppressed) => log.warn({ clientId, topic: topicName, suppressed }, 'publish refused by ACL; client disconnected'));
      },
      onRefusedSubscribe: (clientId, filter) => {
        limiter.maybe('subscribe-refused', (suppressed) => log.warn({ clientId, filter, suppressed }, 'subscription refused by ACL'));
      },
      onRefusedConnect: (reason, clientId, username) => {
        metrics.connectRefused.inc({ reason });
        limiter.maybe(`connect-refused:${reason}`, (suppressed) => log.warn({ clientId, username, reason, suppressed }, 'connection refused'));
      },
      onTlsHandshakeFailed: (remoteAddress, error) => {
        metrics.connectRefused.inc({ reason: 'tls_handshake' });
        limiter.maybe('tls-handshake', (suppressed) => log.warn({ remoteAddress, error: error.message, suppressed }, 'TLS handshake failed; connection refused'));
      },
      onPacketTooLarge: (packet, remoteAddress) => {
        const size = packet.bytes === undefined ? '' : ` of ${packet.bytes} bytes`;
        const detail = `${packet.type}${size} from ${remoteAddress ?? 'an unknown address'} exceeds mqtt.maxPacketBytes (${config.mqtt.maxPacketBytes})`;
        ingest.refuse('packet_too_large', detail);
        limiter.maybe('packet-too-large', (suppressed) => log.warn({ remoteAddress, packet: packet.type, bytes: packet.bytes, suppressed }, 'packet too large: refused from its header; client disconnected'));
      },
      onClientError: (clientId, error) => log.debug({ clientId, err: error.message }, 'client error'),
    },
  ).catch(abandonStart);

  let stopping: Promise<void> | undefined;
  const ops: OpsServer = await startOpsServer(config.http, metrics.registry, {
    // Not ready from the moment stop begins: the broker is closing, and a load balancer should send
    // devices elsewhere for however long the stop takes.
    gateway: () => (stopping ? { ok: false, detail: 'stopping' } : { ok: true, detail: 'running' }),
    broker: () => ({ ok: true, detail: broker ? `listening on ${broker.port}, ${broker.connectedClients()} clients` : 'off (mqtt.enabled: false): bridge only' }),
    outbox: () => {
      const ok = writer.writable();
      return { ok, detail: ok ? `depth ${outbox.stats().depth}` : `cannot write ${config.outbox.path}` };
    },
    publisher: () => {
      const state = publisher.state();
      return { ok: state !== 'stopped', detail: state === 'backing_off' ? 'buffering: Pub/Sub unreachable' : state };
    },
  }).catch((error: unknown) => abandonStart(error, broker));
  bridge.start();
  // Readings can come from now on: the restored machines' silence counts from here, not from their restore.
  engine.startIdleClocks();

  function tick(): void {
    engine.tick();
    writer.flush();
    outbox.enforceBounds();
  }
  const cancelTicks = every(clock, config.windows.tickMs, tick);

  // A checkpoint of a machine is kept while a reading for its windows can still be accepted (not
  // too old, allowing for a clock ahead), so that reading finds the machine's frontier; at most
  // checkpointMaxMachines of them, dropping the oldest of machines the engine no longer holds (one it
  // holds writes only what changes, so must keep its rows). The engine forgets a machine unseen for
  // evictAfterMs, and one restored at start (written up to evictAfterMs before) that long after.
  const checkpointRetentionMs = config.validation.maxAgeMs + config.validation.maxFutureSkewMs;
  const heldAtMostMs = 2 * engine.evictAfterMs + config.windows.tickMs + config.outbox.checkpointIntervalMs;
  function checkpoint(): void {
    if (!writer.checkpoint()) return;
    const now = clock.now();
    outbox.forgetCheckpointsBefore(now - checkpointRetentionMs);
    const dropped = outbox.boundCheckpoints(config.outbox.checkpointMaxMachines, now - heldAtMostMs);
    if (dropped > 0) {
      metrics.checkpointsDropped.inc(dropped);
      limiter.maybe('checkpoints-dropped', (suppressed) =>
        log.warn({ dropped, bound: config.outbox.checkpointMaxMachines, suppressed }, 'machine checkpoints dropped at outbox.checkpointMaxMachines (oldest first)'),
      );
    }
  }
  const cancelCheckpoints = every(clock, config.outbox.checkpointIntervalMs, checkpoint);

  const health = new HealthReporter(
    metrics,
    topic,
    { ...source, intervalMs: config.health.intervalMs, attributes: pubsubAttributes(GatewayHealthSchema, source) },
    clock,
    { failed: (error) => limiter.maybe('health', (suppressed) => log.warn({ err: error.message, suppressed }, 'health report not published')) },
  );
  health.start();

  // Replay what an earlier run left in the outbox.
  publisher.notify();
  log.info(
    { mqttPort: broker?.port, httpPort: ops.port, outbox: config.outbox.path, topic: config.pubsub.topic, replaying: outbox.stats().depth, restoredMachines: restored.machinesRestored, restoredOpenWindows: restored.openWindows },
    'gateway started',
  );

  function reloadCredentials(): { ok: true } | { ok: false; error: string } {
    if (!broker) {
      log.info('nothing to reload: no embedded broker (mqtt.enabled: false)');
      return { ok: true };
    }
    try {
      broker.replaceCredentials(loadCredentials(config.mqtt));
    } catch (error) {
      const message = (error as Error).message;
      metrics.reloads.inc({ result: 'refused' });
      log.error({ err: message }, 'reload refused: the previous users and certificates stay in force');
      return { ok: false, error: message };
    }
    metrics.reloads.inc({ result: 'ok' });
    log.info({ usersFile: config.mqtt.usersFile, tls: config.mqtt.tls !== undefined }, 'users file and certificates reloaded');
    return { ok: true };
  }

  async function stop(): Promise<void> {
    cancelTicks();
    cancelCheckpoints();
    health.stop();
    await broker?.close();
    await bridge.close();
    // The SHUTDOWN partials, and the state to resume from, in one transaction: after a restart those
    // windows fill on and go out again, complete, as revision + 1.
    writer.checkpoint(engine.suspend());
    await publisher.stop(config.shutdownTimeoutMs);
    await pubsub.close();
    // Before the outbox: /readyz and /metrics read it, and a request the server still answers must
    // not meet a closed database.
    await ops.close();
    const left = outbox.stats().depth;
    outbox.close();
    log.info({ leftInOutbox: left }, left > 0 ? 'gateway stopped; unpublished windows stay in the outbox for the next start' : 'gateway stopped');
  }

  return {
    config,
    mqttPort: broker?.port ?? 0,
    tlsPort: broker?.tlsPort,
    websocketPort: broker?.websocketPort,
    httpPort: ops.port,
    metrics,
    engine,
    outbox,
    tick,
    reloadCredentials,
    reportHealth: () => health.report(),
    stop: () => (stopping ??= stop()),
  };
}
