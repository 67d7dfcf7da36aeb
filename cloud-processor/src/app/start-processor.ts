// Starts one processor: InfluxDB schema, scorer, alerting, the Pub/Sub microservice and the HTTP ops
// app (a NestJS hybrid application), and returns a handle whose stop() shuts down gracefully:
// stop pulling, let in-flight messages finish (and be acked), write the scorer's per-machine state,
// deliver pending alerts (or release them to another processor), flush InfluxDB. A start can be
// aborted (deps.signal) until it begins to pull.
import type { Server } from 'node:http';
import { v1, type ClientConfig } from '@google-cloud/pubsub';
import { describeError } from '../shared/describe-error.js';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { systemClock, type Clock } from '@pdm/clock';
import { hidePassword, logDestination, resolveLogFormat, resolvePubSubCredentials, usesPubSubEmulator } from '@pdm/config';
import { FeatureBatchSchema, GatewayHealthSchema, MachineWindowSchema } from '@pdm/proto';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { ALERT_DELIVERY_DEFAULTS, AlertDeliveries, type DeliveryTarget } from '../alerts/alert-delivery.js';
import { AlertActionLog, ProcessorActionsView } from '../alerts/alert-actions.js';
import { AlertDispatcher } from '../alerts/alert-dispatcher.js';
import { AlertWorkflow } from '../alerts/alert-workflow.js';
import { InfluxAlertStore } from '../alerts/alert-store.js';
import { AlertTopicTarget } from '../alerts/alert-topic.js';
import { WebhookTarget } from '../alerts/webhook.js';
import type { ProcessorConfig } from '../config/schema.js';
import type { Scorer } from '../model/api.js';
import { DriftReporter } from '../ops/drift-reporter.js';
import { ProcessorMetrics } from '../ops/metrics.js';
import { PinoNestLogger } from '../ops/nest-logger.js';
import { PipelineReporter } from '../ops/pipeline-reporter.js';
import { WindowPipeline } from '../pipeline/window-pipeline.js';
import { DRIFT_DEFAULTS, DriftMonitor } from '../scoring/drift.js';
import { openScorer } from '../scoring/scorer.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { PubSubClient } from '../transport/pubsub-client.js';
import { PubSubServer } from '../transport/pubsub-server.js';
import { ProcessorModule } from './processor.module.js';
import { ensurePubSubResources } from './pubsub-resources.js';

/** How long the ops HTTP server's requests under way have to finish when the processor stops. */
const OPS_CLOSE_GRACE_MS = 1_000;

export interface ProcessorDeps {
  /** Default: openScorer on config.model.registryDir. */
  scorer?: Scorer;
  logger?: Logger;
  /**
   * Time for end-to-end latency and pipeline reports, and every timer: InfluxDB batching, the webhook
   * and transport back-offs, the drain timeout, the scorer's batch delay and registry poll. Default: the
   * system clock.
   */
  clock?: Clock;
  /**
   * Aborts the start (a stop asked while it runs: `pdm processor` takes the signals first). Looked at
   * after each slow step — the credentials, the Pub/Sub resources, the InfluxDB schema, the models —
   * and last just before pulling begins: startProcessor then closes what it opened and rejects with
   * the signal's reason. Once it pulls, the start completes, and stop() stops it.
   */
  signal?: AbortSignal;
}

export interface RunningProcessor {
  httpPort: number;
  metrics: ProcessorMetrics;
  scorer: Scorer;
  /** Writes one `pipeline` point now (also done every pipelineReportIntervalMs). */
  reportPipeline(): Promise<void>;
  /**
   * Resolves, with why, if the Pub/Sub client stopped pulling for good (a status it does not retry:
   * PERMISSION_DENIED, NOT_FOUND…); /healthz fails from then on. Never settles otherwise.
   */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

/**
 * How every Pub/Sub client of the processor connects: to an emulator, or to Google with credentials
 * resolved now and shared by all of them, so that no request looks them up again (a lookup failing
 * inside the client library would end the process; a credential failing later fails that request,
 * which is nacked, retried or counted like any other). Throws a ConfigError that says what to set
 * when there are no usable credentials.
 */
export async function pubsubClientConfig(config: ProcessorConfig['pubsub'], env: NodeJS.ProcessEnv = process.env): Promise<ClientConfig> {
  const { projectId, emulatorHost } = config;
  if (usesPubSubEmulator(emulatorHost, env)) return emulatorHost ? { projectId, apiEndpoint: emulatorHost, emulatorMode: true } : { projectId };
  // The generated subscriber client's auth is set up as every request's would be (Pub/Sub's scopes, a
  // service-account key signing its own tokens); it opens no connection.
  return { projectId, authClient: await resolvePubSubCredentials(new v1.SubscriberClient({ projectId }).auth, env) };
}

export async function startProcessor(config: ProcessorConfig, deps: ProcessorDeps = {}): Promise<RunningProcessor> {
  const log = deps.logger ?? pino({ level: config.log.level, base: { instance: config.instanceId } }, logDestination(resolveLogFormat(config.log.format)));
  const clock = deps.clock ?? systemClock;
  const metrics = new ProcessorMetrics({ defaultMetrics: true });
  const aborted = deps.signal;
  const client = await pubsubClientConfig(config.pubsub);
  aborted?.throwIfAborted();
  if (config.pubsub.createResources) await ensurePubSubResources(client, config.pubsub);
  aborted?.throwIfAborted();

  const sink = new InfluxSink(
    config.influx,
    {
      batchWritten: (points, ms) => (metrics.influxBatchPoints.observe(points), metrics.influxWrite.observe(ms / 1000)),
      fieldsDropped: (n) => metrics.droppedFields.inc(n),
      requestTooLarge: () => metrics.influxRequestsTooLarge.inc(),
      requestMaxPointsLowered: (maxPoints, cause) =>
        log.warn({ maxPoints, err: cause.message }, 'InfluxDB write requests over a body limit (413): sending at most maxPoints points a request until restart'),
      downsampleBackfilled: (range, error) => {
        metrics.downsampleBackfills.inc({ result: error ? 'failed' : 'ok' });
        const at = { interval: range.interval, from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString() };
        if (error) log.warn({ ...at, err: error }, 'downsampled means not computed again for late windows (RUNBOOK: backfill by hand)');
        else log.info(at, 'downsampled means computed again for late windows');
      },
    },
    clock,
  );
  try {
    await sink.start();
  } catch (error) {
    // Node's "connect ECONNREFUSED 127.0.0.1:8086" alone does not say which part to look at.
    throw new Error(`InfluxDB at influx.url ${hidePassword(config.influx.url)}: ${describeError(error)}`, { cause: error });
  }
  aborted?.throwIfAborted();
  const drift = new DriftMonitor();
  const scorer = deps.scorer ?? (await openScorer({ ...config.model, clock, logger: log.child({ component: 'model' }), onModelsRefused: (n) => metrics.modelsRefused.inc(n), onLifecyclesRefused: (n) => metrics.lifecyclesRefused.inc(n), onStateTrouble: (trouble, n) => metrics.stateTrouble.inc({ trouble }, n), drift }));
  if (aborted?.aborted) {
    await Promise.allSettled([deps.scorer ? undefined : scorer.close()]);
    aborted.throwIfAborted();
  }
  const delivery = config.alerts.delivery ?? ALERT_DELIVERY_DEFAULTS;
  const alertsClient = config.pubsub.alertsTopic ? new PubSubClient({ client, topic: config.pubsub.alertsTopic, publishTimeoutMs: delivery.publishTimeoutMs }) : undefined;
  const alertStore = new InfluxAlertStore(sink);
  const targets: DeliveryTarget[] = [
    ...(alertsClient ? [new AlertTopicTarget(alertsClient, delivery.backoff, delivery.publishTimeoutMs)] : []),
    ...(config.alerts.webhook ? [new WebhookTarget(config.alerts.webhook)] : []),
  ];
  const deliveries = new AlertDeliveries(targets, alertStore, delivery, clock, log.child({ component: 'alerts' }), {
    failed: (target) => metrics.alertDeliveryFailures.inc({ target }),
    abandoned: (target) => metrics.alertDeliveriesAbandoned.inc({ target }),
    pending: (count) => metrics.alertDeliveriesPending.set(count),
  });
  const actions = new ProcessorActionsView(new AlertActionLog(sink), clock, config.alerts.actionsRefreshMs);
  const dispatcher = new AlertDispatcher(config.alerts, alertStore, deliveries, metrics, clock, log, actions);
  const pipeline = new WindowPipeline(sink, scorer, dispatcher, metrics, clock, log, { maxWindowsInFlight: config.pubsub.maxWindowsInFlight, revisionMemory: config.revisions });
  const server = new PubSubServer(
    {
      client,
      subscription: config.pubsub.subscription,
      deadLetterTopic: config.pubsub.deadLetterTopic,
      flowControl: config.pubsub.flowControl,
      maxAttempts: config.pubsub.maxAttempts,
      transientBackoff: config.pubsub.transientBackoff,
      drainTimeoutMs: config.pubsub.drainTimeoutMs,
      clock,
      logger: log.child({ component: 'pubsub' }),
      events: {
        received: () => metrics.inFlight.inc(),
        settled: (outcome, schema, ms, reason) => {
          metrics.inFlight.dec();
          metrics.messages.inc({ outcome, schema });
          metrics.ackLatency.observe(ms / 1000);
          if (reason) metrics.deadLetters.inc({ reason });
        },
      },
    },
    [FeatureBatchSchema, MachineWindowSchema, GatewayHealthSchema],
  );

  let app: INestApplication | undefined;
  try {
    const alertsApi = config.http.apiToken === undefined ? undefined : { workflow: new AlertWorkflow(sink, clock), token: config.http.apiToken, clock };
    app = await NestFactory.create(ProcessorModule.register({ pipeline, sink, influxDatabase: config.influx.database, scorer, server, metrics, alertsApi }), { logger: new PinoNestLogger(log.child({ component: 'nest' })), abortOnError: false });
    app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
    // The last point where an aborted start ends without having pulled a message.
    aborted?.throwIfAborted();
    await app.startAllMicroservices();
    await app.listen(config.http.port, config.http.host);
  } catch (error) {
    await app?.close();
    await Promise.allSettled([alertsClient?.close(), deps.scorer ? undefined : scorer.close()]);
    throw error;
  }
  deliveries.start();
  const reporter = new PipelineReporter(sink, metrics, config.instanceId, clock, log);
  reporter.start(config.pipelineReportIntervalMs);
  const driftReporter = new DriftReporter(drift, scorer, sink, metrics, { instance: config.instanceId, retrainPsi: config.model.driftRetrainPsi ?? DRIFT_DEFAULTS.retrainPsi }, clock, log);
  driftReporter.start(config.pipelineReportIntervalMs);
  const httpPort = (app.getHttpServer() as { address(): AddressInfo }).address().port;
  log.info({ httpPort, subscription: config.pubsub.subscription }, 'processor started');
  log.info(config.http.apiToken === undefined ? 'alerts API off: no http.apiToken configured' : `alerts API on http port ${httpPort} under /api (bearer token)`);

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    // Drift needs the models the scorer's close below unloads; an interval's drift is enough.
    driftReporter.stop();
    // Every step runs even when one before it failed (the scorer's state save above all); the first
    // failure is passed on once they all ran.
    const failures: unknown[] = [];
    const step = async (run: () => Promise<unknown> | undefined) => {
      try {
        await run();
      } catch (error) {
        failures.push(error);
      }
    };
    await step(() => server.close()); // stops pulling; in-flight messages finish, their writes land, they are acked
    // The scorer is closed, which writes the machines' states (model.stateFile), as soon as no window is
    // in flight, before the steps below, which may take as long again (alert deliveries wait up to
    // stopTimeoutMs): the windows acked above are not redelivered, so a kill during those steps (the
    // end of a container's grace period) would otherwise lose what they taught, up to stateSaveMs of
    // it. Nothing scores after the drain: a window still in flight after a drain timeout is refused by
    // the closed scorer and nacked (redelivered), so the state written is the final one.
    if (!deps.scorer) await step(() => scorer.close());
    // Deliveries still pending after stopTimeoutMs are released to the next sweep (any processor).
    await step(() => deliveries.close(delivery.stopTimeoutMs));
    // The last pipeline report, of what happened since the interval's (the drain above all), stored before the flush.
    await step(() => reporter.close());
    await step(() => sink.flush());
    // Nest's close waits for every connection with a request under way: one a client sent half of held
    // the stop for Node's request timeout (5 minutes), past any supervisor's. Those are cut after a grace.
    const httpServer = app.getHttpServer() as Server;
    const cut = setTimeout(() => httpServer.closeAllConnections(), OPS_CLOSE_GRACE_MS);
    await step(() => app.close());
    clearTimeout(cut);
    await step(() => alertsClient?.close());
    if (failures.length > 0) {
      log.error({ err: failures.map(describeError) }, 'processor stopped with errors');
      throw failures[0];
    }
    log.info('processor stopped');
  };
  return { httpPort, metrics, scorer, reportPipeline: () => reporter.report(), failed: server.failed, stop: () => (stopping ??= stop()) };
}
