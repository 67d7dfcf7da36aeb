// The NestJS Pub/Sub transporter, in the shape of Nest's own ServerMqtt: listen() reports start
// failures through its callback, driver events feed the status stream (and `failure`/`failed` once the
// client gave up pulling), unwrap() throws before listen(), close() stops pulling and drains in-flight
// handlers.
//
// Delivery rules (README "Architecture"): a message is acked only after its handler resolved (the
// handler awaits its InfluxDB write); a failed handler nacks it, so Pub/Sub redelivers it; a message
// that can never be processed (no/unknown schema, bytes that do not decode, a body its handler refuses
// with a PoisonMessageError, or a handler that failed maxAttempts times) is published to the
// dead-letter topic with the reason, then acked. settlement.ts decides which; this file runs the
// subscription and the handlers. Messages of one ordering key (a machine's lone windows, or the
// batches of a gateway's shard) are handled one after another, even when Pub/Sub delivers several
// together: each starts once the one before is settled, or once that one's handler released the key
// (PubSubContext.releaseOrderingKey: its windows are queued per machine in order, only their writes
// remain). They are settled in arrival order: a nack of one nacks every later one of its key, those
// already handled and those waiting unhandled (ordering-key-sequencer.ts, Settler.behindNack) — later
// by publish time, not arrival: a redelivery may arrive behind the old delivery of a message published
// after it (heldBackByNack).
// Different keys run concurrently.
import { Duration, PubSub, type Message, type Subscription, type Topic } from '@google-cloud/pubsub';
import { Server, type CustomTransportStrategy, type IncomingEvent, type MessageHandler } from '@nestjs/microservices';
import type { DescMessage } from '@bufbuild/protobuf';
import { sleep, systemClock, type Clock } from '@pdm/clock';
import { PUBSUB_ATTRIBUTES } from '@pdm/proto';
import type { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import { lastValueFrom, isObservable } from 'rxjs';
import { DeadLetterPublisher } from './dead-letter.js';
import { PUBSUB_TRANSPORT_DEFAULTS, type PubSubServerOptions, type Settlement } from './options.js';
import { PubSubContext, type OrderingKeyTurn } from './pubsub-context.js';
import { PoisonMessageError, UndecodableMessageError } from './poison-message.js';
import { OrderingKeySequencer, type Turn } from './ordering-key-sequencer.js';
import { ProtobufDeserializer } from './protobuf-deserializer.js';
import { Settler, type Settled } from './settlement.js';
import { describeError } from '../shared/describe-error.js';

export const PUBSUB_TRANSPORT = Symbol('PUBSUB_TRANSPORT');

/** How a message of an ordering key ended, and when it was published: what the key's next message needs of it. */
interface KeyOutcome {
  settlement: Settlement;
  publishTime: Message['publishTime'];
}

/**
 * Whether a message must be nacked unhandled because the one before it in its key's chain (arrival
 * order) was nacked: only when that one was published no later than it (equal times: one publish
 * request, whose order we cannot tell — held back, to be safe). Pub/Sub redelivers a nacked message with
 * every later message of its key, while the client may still hold the old deliveries of the later ones
 * (cloud.google.com/pubsub/docs/ordering, "Message redelivery"): a redelivered m2 can arrive behind the
 * old delivery of m3, which is nacked because m2 was. That nack says nothing about m2; holding m2 back
 * for it would cost another redelivery round, each counted by a dead-letter policy's max_delivery_attempts.
 */
function heldBackByNack(before: KeyOutcome | undefined, message: Message): boolean {
  return before?.settlement === 'nacked' && before.publishTime.getFullTime() <= message.publishTime.getFullTime();
}

/** The `schema` passed to events.settled for a message whose schema attribute no handler of the server takes. */
const OTHER_SCHEMA = 'other';

export const PubSubStatus = { CONNECTED: 'connected', DISCONNECTED: 'disconnected', CLOSED: 'closed' } as const;
export type PubSubStatus = (typeof PubSubStatus)[keyof typeof PubSubStatus];

/** Events of the underlying Subscription that on() can listen to. */
export type PubSubServerEventsMap = {
  error: (error: Error) => void;
  close: () => void;
};

/** listen() failed: the subscription or dead-letter topic is missing or unreachable. `code` is the gRPC status. */
export class PubSubStartError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PubSubStartError';
  }
}

const grpcCode = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
};

export class PubSubServer extends Server<PubSubServerEventsMap, PubSubStatus> implements CustomTransportStrategy {
  override transportId = PUBSUB_TRANSPORT;
  /** Nest builds handlers whose failures reach us (like ServerKafka's): dispatch() awaits them, and a failure becomes a nack. */
  override readonly propagatesEventHandlerErrors = true;

  private pubsub: PubSub | undefined;
  private subscription: Subscription | undefined;
  private deadLetters: DeadLetterPublisher | undefined;
  /** The handler of each schema, looked up once at listen() (Nest registers them before). */
  private handlers = new Map<string, MessageHandler>();
  private readonly settler: Settler<Message>;
  private readonly orderingKeys = new OrderingKeySequencer<KeyOutcome>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private pendingEventListeners: { event: keyof PubSubServerEventsMap; callback: PubSubServerEventsMap[keyof PubSubServerEventsMap] }[] = [];
  /** close() began: the subscription's 'close' that follows is ours, not the client giving up. */
  private closing = false;
  private stoppedPulling: Error | undefined;
  private reportStoppedPulling!: (why: Error) => void;
  /** Resolves, with why, once the client stopped pulling for good without close() asking; never settles otherwise. */
  readonly failed = new Promise<Error>((resolve) => (this.reportStoppedPulling = resolve));
  private readonly log: Logger;
  private readonly clock: Clock;

  constructor(
    private readonly options: PubSubServerOptions,
    private readonly schemas: DescMessage[],
  ) {
    super();
    this.deserializer = new ProtobufDeserializer(schemas);
    this.log = options.logger ?? pino({ level: 'silent' });
    this.clock = options.clock ?? systemClock;
    this.settler = new Settler<Message>(
      { maxAttempts: options.maxAttempts, transientBackoff: options.transientBackoff, clock: this.clock },
      (message, reason, detail, attempts) => this.deadLetters!.publish(message, reason, detail, attempts),
      this.log,
    );
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await this.start();
    } catch (error) {
      await this.release();
      this._status$.next(PubSubStatus.DISCONNECTED);
      callback(error);
      return;
    }
    callback();
  }

  private async start(): Promise<void> {
    const { flowControl, drainTimeoutMs, streams } = { ...PUBSUB_TRANSPORT_DEFAULTS, ...this.options };
    const pubsub = new PubSub(this.options.client);
    this.pubsub = pubsub;
    const subscription = pubsub.subscription(this.options.subscription, {
      flowControl: { ...PUBSUB_TRANSPORT_DEFAULTS.flowControl, ...flowControl, allowExcessMessages: false },
      streamingOptions: { maxStreams: streams },
      // close() destroys the stream at once, then lets our handlers ack/nack until the timeout.
      closeOptions: { behavior: 'WAIT', timeout: Duration.from({ millis: drainTimeoutMs }) },
    });
    const metadata = await subscription.getMetadata().then(
      ([m]) => m,
      (error: unknown) => {
        throw new PubSubStartError(`Pub/Sub subscription "${this.options.subscription}" is not reachable: ${describeError(error)}`, grpcCode(error), { cause: error });
      },
    );
    const deadLetterTopic = await this.requireTopic(pubsub, this.options.deadLetterTopic);
    this.deadLetters = new DeadLetterPublisher(deadLetterTopic, subscription.name);
    this.handlers = new Map(this.schemas.flatMap(({ typeName }) => {
      const handler = this.getHandlerByPattern(typeName);
      return handler ? [[typeName, handler] as const] : [];
    }));
    this.registerStopListeners(subscription);
    for (const { event, callback } of this.pendingEventListeners.splice(0)) (subscription as EventEmitter).on(event, callback as (...args: unknown[]) => void);
    subscription.on('message', (message: Message) => this.receive(message));
    this.subscription = subscription;
    this._status$.next(PubSubStatus.CONNECTED);
    this.log.info({ subscription: subscription.name, deadLetterPolicy: Boolean(metadata.deadLetterPolicy?.deadLetterTopic) }, 'pulling from Pub/Sub');
  }

  private async requireTopic(pubsub: PubSub, name: string): Promise<Topic> {
    const topic = pubsub.topic(name, { messageOrdering: true });
    const [exists] = await topic.exists().catch((error: unknown) => {
      throw new PubSubStartError(`dead-letter topic "${name}" is not reachable: ${describeError(error)}`, grpcCode(error), { cause: error });
    });
    if (!exists) throw new PubSubStartError(`dead-letter topic "${name}" does not exist`, 5);
    return topic;
  }

  /**
   * The client retries a stream that ended with a transient status (UNAVAILABLE, DEADLINE_EXCEEDED…:
   * pull-retry.js) and says nothing. Any other status (PERMISSION_DENIED, NOT_FOUND, UNAUTHENTICATED,
   * FAILED_PRECONDITION: a role revoked, the subscription deleted) on its last stream makes it emit
   * 'error', then close the subscriber, which it never opens again: nothing is pulled until a restart.
   * That 'close' is the failure; the 'error' before it says why (an 'error' alone may not be final).
   */
  private registerStopListeners(subscription: Subscription): void {
    let lastError: Error | undefined;
    subscription.on('error', (error: Error) => {
      lastError = error;
      this.log.error({ err: error }, 'Pub/Sub subscription stream failed');
      this._status$.next(PubSubStatus.DISCONNECTED);
    });
    subscription.on('close', () => {
      this._status$.next(PubSubStatus.CLOSED);
      if (this.closing) return;
      const code = lastError && grpcCode(lastError);
      const why = lastError ? `${describeError(lastError)}${code === undefined ? '' : ` (gRPC code ${code})`}` : 'the client closed it';
      this.stoppedPulling = new Error(`stopped pulling from Pub/Sub subscription "${subscription.name}" for good: ${why}`, { cause: lastError });
      this.log.error({ err: this.stoppedPulling }, 'no longer receiving messages');
      this.reportStoppedPulling(this.stoppedPulling);
    });
  }

  /** A message arrived: it is handled once the message of its ordering key before it is released, settled after that one. */
  private receive(message: Message): void {
    const receivedAt = performance.now();
    this.options.events?.received?.();
    this.track(this.orderingKeys.run(message.orderingKey ?? '', (previous, turn) => this.process(message, receivedAt, previous, turn)));
  }

  private track(task: Promise<unknown>): void {
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  /**
   * Never rejects: every path ends in ack, nack or dead letter. `previous`: how the message of its key
   * before it ended, when it had ended before this one started; else this one waits for it before settling.
   */
  private async process(message: Message, receivedAt: number, previous: KeyOutcome | undefined, turn: Turn<KeyOutcome>): Promise<KeyOutcome> {
    const schema = message.attributes[PUBSUB_ATTRIBUTES.schema] ?? '';
    let settledAs!: (outcome: Settlement | undefined) => void;
    const settled = new Promise<Settlement | undefined>((resolve) => (settledAs = resolve));
    let outcome: Settlement | undefined;
    try {
      const result = heldBackByNack(previous, message) ? this.settler.behindNack(message, schema) : await this.handleInTurn(message, schema, { release: turn.release, settled }, turn.previousSettled);
      outcome = result.outcome;
      // A metric label: every other value a publisher puts there would be a new series.
      this.options.events?.settled?.(outcome, this.handlers.has(schema) ? schema : OTHER_SCHEMA, performance.now() - receivedAt, result.reason);
      return { settlement: outcome, publishTime: message.publishTime };
    } finally {
      settledAs(outcome);
    }
  }

  /** Handles the message (its handler may release the key early), then settles it once the message before it is settled. */
  private async handleInTurn(message: Message, schema: string, turn: OrderingKeyTurn, previousSettled: Promise<KeyOutcome | undefined>): Promise<Settled> {
    const settle = await this.handle(message, schema, turn);
    // Released early, it may have been handled while the message before was still open: that one's nack is its nack too.
    return heldBackByNack(await previousSettled, message) ? this.settler.behindNack(message, schema) : settle();
  }

  /** Decodes the message and runs its handler; resolves with how to settle it (nothing is acked or nacked yet). */
  private async handle(message: Message, schema: string, turn: OrderingKeyTurn): Promise<() => Settled | Promise<Settled>> {
    let packet: IncomingEvent;
    let handler: MessageHandler | undefined;
    try {
      packet = (await this.deserializer.deserialize({ data: message.data, attributes: message.attributes })) as IncomingEvent;
      handler = this.handlers.get(schema);
      if (!handler) throw new UndecodableMessageError('unknown_schema', `no handler for schema "${schema}"`);
    } catch (error) {
      const poison = error instanceof PoisonMessageError ? error : new UndecodableMessageError('undecodable', describeError(error));
      return () => this.settler.poison(message, schema, poison);
    }
    try {
      await this.dispatch(handler, packet, new PubSubContext([message, turn]));
    } catch (error) {
      return () => this.settler.failed(message, schema, error);
    }
    return () => this.settler.handled(message);
  }

  /**
   * Runs a handler inside Nest's processing hooks. Like ServerKafka, the handler's stream is awaited, so
   * its failure rejects here (→ settlement) instead of only being logged.
   */
  private dispatch(handler: MessageHandler, packet: IncomingEvent, context: PubSubContext): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.runWithProcessingHooks(context, async (runEndHook) => {
        try {
          const result: unknown = await handler(packet.data, context);
          if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
          resolve();
        } catch (error) {
          reject(error instanceof Error ? error : new Error(describeError(error)));
        } finally {
          runEndHook();
        }
      });
    });
  }

  /** Messages received and not yet settled: being handled, or waiting behind an earlier one of their ordering key. */
  inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Why the client stopped pulling for good without close() asking (naming the subscription); undefined while it pulls. */
  get failure(): Error | undefined {
    return this.stoppedPulling;
  }

  /** Readiness probe: resolves when the server pulls and the subscription answers, rejects otherwise. */
  async checkSubscription(): Promise<void> {
    if (this.stoppedPulling) throw this.stoppedPulling;
    if (!this.subscription) throw new Error('Pub/Sub server is not listening');
    await this.subscription.getMetadata();
  }

  on<K extends keyof PubSubServerEventsMap>(event: K, callback: PubSubServerEventsMap[K]): void {
    if (this.subscription) (this.subscription as EventEmitter).on(event, callback as (...args: unknown[]) => void);
    else this.pendingEventListeners.push({ event, callback });
  }

  unwrap<T>(): T {
    if (!this.pubsub || !this.subscription) {
      throw new Error('Not initialized. Please call the "listen"/"startAllMicroservices" method before accessing the server.');
    }
    return { pubsub: this.pubsub, subscription: this.subscription } as T;
  }

  /**
   * Stops pulling at once, waits for in-flight handlers to settle their messages, then disconnects.
   * Messages held in a transient back-off are nacked at once rather than waited for.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.settler.stop();
    const subscription = this.subscription;
    if (subscription) {
      const closed = subscription.close();
      await this.drain(this.options.drainTimeoutMs ?? PUBSUB_TRANSPORT_DEFAULTS.drainTimeoutMs);
      await closed;
    }
    await this.release();
    this.pendingEventListeners = [];
  }

  private async drain(timeoutMs: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    const drained = new AbortController();
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(this.clock, timeoutMs, drained.signal)]);
    drained.abort();
    if (this.inFlight.size > 0) this.log.warn({ inFlight: this.inFlight.size }, 'drain timed out; the client nacks what is left');
  }

  private async release(): Promise<void> {
    const pubsub = this.pubsub;
    this.subscription = undefined;
    this.pubsub = undefined;
    if (pubsub) await pubsub.close();
  }
}
