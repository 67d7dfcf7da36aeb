// start(): wires the broker, the delivery scheduler, the gRPC services, optional persistence and the
// admin HTTP endpoint, and returns a handle with the test hooks (faults, dropped streams, restarts).
import { type status, Server, ServerCredentials } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { type Clock, systemClock } from './clock.js';
import { startAdminServer, type AdminServer } from './admin-http.js';
import { DeliveryScheduler } from './delivery.js';
import { EMULATOR_DEFAULTS, GRPC_MAX_RECEIVE_BYTES } from './defaults.js';
import { FaultInjector, type RpcMethod } from './faults.js';
import type { HandlerContext } from './grpc/context.js';
import { loadPubSubServices } from './grpc/proto.js';
import { publisherHandlers } from './grpc/publisher.js';
import { subscriberHandlers } from './grpc/subscriber.js';
import { SnapshotStore } from './persistence.js';
import { RpcErrorCounter } from './rpc-errors.js';
import { Broker, type BrokerStats } from './state/broker.js';
import type { AckedSelection } from './state/subscription.js';

export interface EmulatorOptions {
  /** gRPC port; 0 picks a free one. Default 8085. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Admin HTTP port; 0 picks a free one, false disables it. Default 0. */
  adminPort?: number | false;
  /** Keep topics, subscriptions and unacked messages here across restarts. Default: in memory only. */
  dataDir?: string;
  /** Time source for ack deadlines and backoff; pass a ManualClock in tests. */
  clock?: Clock;
  /** Pino logger; default logs at info to stdout. Tests pass pino({ level: 'silent' }). */
  logger?: Logger;
  schedulerIntervalMs?: number;
  pullWaitMs?: number;
  snapshotDebounceMs?: number;
  statsLogIntervalMs?: number;
  /**
   * Messages of one ordering key delivered at once, in order, in one StreamingPull response. Default 1:
   * the next message of a key only after the previous one is acked. Above 1 the emulator behaves as
   * Google's service may (several of a key together; a failed one redelivered before those behind it),
   * so that subscribers are tested against it (state/message-queue.ts says exactly what it does).
   */
  orderingKeyBatch?: number;
  /**
   * Test hook support: the last `keepAcked` acked messages of each subscription are kept, so that
   * redeliverAcked can deliver them again. Default 0: an ack removes a message for good.
   */
  keepAcked?: number;
}

export interface EmulatorStats extends BrokerStats {
  rpcErrors: Record<string, number>;
  openStreams: number;
}

export interface RunningEmulator {
  host: string;
  port: number;
  /** host:port, the value for PUBSUB_EMULATOR_HOST or apiEndpoint. */
  endpoint: string;
  /** Admin HTTP port, undefined when disabled. */
  adminPort: number | undefined;
  clock: Clock;
  stats(): EmulatorStats;
  /** Test hook: the next `count` calls of `method` (e.g. "Publish") fail with `code`. */
  failNext(method: RpcMethod, count: number, code: status, message?: string): void;
  /** Test hook: forgets the failures planned with failNext that have not happened yet. */
  clearFaults(): void;
  /** Test hook: ends every open StreamingPull stream with `code` (default UNAVAILABLE); returns how many. */
  dropStreams(code?: status, details?: string): number;
  /**
   * Test hook: delivers again messages of `subscription` (its full name) that were already acked, as
   * Pub/Sub may (at-least-once delivery): the ones with these ids, or the last N acked. Needs the
   * emulator started with keepAcked; throws a RangeError for a message not kept. Returns their ids.
   */
  redeliverAcked(subscription: string, selection: AckedSelection): string[];
  /** Test hook: closes the gRPC listener (dropping every connection), runs whileDown, then listens again
   *  on the same port with the same state, like a server restart that clients must ride through. */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  /** Stops everything; with a dataDir, writes the final snapshot first. */
  stop(): Promise<void>;
}

const UNAVAILABLE = 14;

/**
 * Listens on host:port. A port another program holds is told as Node tells it (code EADDRINUSE and the
 * port), so a caller can name the setting that moves it: gRPC says it only in its message.
 */
async function bind(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, bound) => {
      if (!error) return resolve(bound);
      if (!/EADDRINUSE/.test(error.message)) return reject(error);
      reject(Object.assign(new Error(`port ${port} on ${host} is already in use: ${error.message}`), { code: 'EADDRINUSE', port }));
    });
  });
}

export async function start(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? EMULATOR_DEFAULTS.host;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? pino({ name: 'pubsub-emulator' });
  const orderingKeyBatch = options.orderingKeyBatch ?? EMULATOR_DEFAULTS.orderingKeyBatch;
  if (!Number.isInteger(orderingKeyBatch) || orderingKeyBatch < 1) throw new RangeError(`orderingKeyBatch must be an integer of at least 1, got ${orderingKeyBatch}`);
  const keepAcked = options.keepAcked ?? 0;
  if (!Number.isInteger(keepAcked) || keepAcked < 0) throw new RangeError(`keepAcked must be a non-negative integer, got ${keepAcked}`);
  const broker = new Broker(clock, log, orderingKeyBatch, keepAcked);
  const scheduler = new DeliveryScheduler(broker, clock, {
    intervalMs: options.schedulerIntervalMs ?? EMULATOR_DEFAULTS.schedulerIntervalMs,
    maxMessagesPerResponse: EMULATOR_DEFAULTS.maxMessagesPerResponse,
  });
  const store = options.dataDir
    ? new SnapshotStore(options.dataDir, broker, options.snapshotDebounceMs ?? EMULATOR_DEFAULTS.snapshotDebounceMs, log)
    : undefined;
  if (store) {
    const loaded = await store.load();
    log.info({ dataDir: options.dataDir, ...loaded }, 'state loaded');
  }
  broker.setListener({ changed: () => store?.changed(), deliverable: (sub) => scheduler.wake(sub) });

  const ctx: HandlerContext = {
    broker,
    scheduler,
    faults: new FaultInjector(),
    errors: new RpcErrorCounter(log),
    clock,
    log,
    streams: new Set(),
    pullWaitMs: options.pullWaitMs ?? EMULATOR_DEFAULTS.pullWaitMs,
  };
  const services = loadPubSubServices();
  const listen = async (port: number) => {
    const server = new Server({ 'grpc.max_receive_message_length': GRPC_MAX_RECEIVE_BYTES });
    server.addService(services.publisher, publisherHandlers(ctx));
    server.addService(services.subscriber, subscriberHandlers(ctx));
    return { server, port: await bind(server, host, port) };
  };
  const dropStreams = (code: status = UNAVAILABLE, details = 'stream dropped by the emulator') => {
    const open = [...ctx.streams];
    for (const stream of open) stream.drop(code, details);
    return open.length;
  };

  let grpc = await listen(options.port ?? EMULATOR_DEFAULTS.port);
  scheduler.start();
  const stats = (): EmulatorStats => ({ ...broker.stats(), rpcErrors: ctx.errors.snapshot(), openStreams: ctx.streams.size });
  let admin: AdminServer | undefined;
  if (options.adminPort !== false) admin = await startAdminServer(host, options.adminPort ?? EMULATOR_DEFAULTS.adminPort, stats);
  const statsEveryMs = options.statsLogIntervalMs ?? EMULATOR_DEFAULTS.statsLogIntervalMs;
  const statsTimer = statsEveryMs > 0 ? setInterval(() => log.info({ stats: broker.stats() }, 'stats'), statsEveryMs).unref() : undefined;
  log.info({ endpoint: `${host}:${grpc.port}`, adminPort: admin?.port, dataDir: options.dataDir }, 'Pub/Sub emulator listening');

  let stopped = false;
  return {
    host,
    port: grpc.port,
    endpoint: `${host}:${grpc.port}`,
    adminPort: admin?.port,
    clock,
    stats,
    failNext: (method, count, code, message) => ctx.faults.failNext(method, count, code, message),
    clearFaults: () => ctx.faults.clear(),
    dropStreams,
    redeliverAcked: (subscription, selection) => broker.redeliverAcked(subscription, selection),
    async restart(whileDown) {
      dropStreams(UNAVAILABLE, 'emulator restarting');
      grpc.server.forceShutdown();
      await whileDown?.();
      grpc = await listen(grpc.port);
      log.info({ endpoint: `${host}:${grpc.port}` }, 'Pub/Sub emulator restarted');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(statsTimer);
      dropStreams(UNAVAILABLE, 'emulator stopping');
      grpc.server.forceShutdown();
      scheduler.stop();
      await admin?.close();
      await store?.flush();
      log.info({ stats: broker.stats() }, 'Pub/Sub emulator stopped');
    },
  };
}
