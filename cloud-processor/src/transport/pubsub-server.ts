// The NestJS Pub/Sub transporter, in the shape of Nest's own ServerMqtt: listen() reports start
// failures through its callback, driver events feed the status stream, unwrap() throws before
// listen(), close() stops pulling and drains in-flight handlers.
//
// Delivery rules (ARCHITECTURE.md "Reliability"): a message is acked only after its handler resolved
// (the handler awaits its InfluxDB write); a failed handler nacks it, so Pub/Sub redelivers it; a
// message that can never be processed (no/unknown schema, bytes that do not decode, a body its handler
// refuses with UndecodableMessageError, or a handler that failed maxAttempts times) is published to the
// dead-letter topic with the reason, then acked.
import { Duration, PubSub, type Message, type Subscription, type Topic } from '@google-cloud/pubsub';
import { Server, type CustomTransportStrategy, type IncomingEvent } from '@nestjs/microservices';
import type { DescMessage } from '@bufbuild/protobuf';
import type { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import { lastValueFrom, isObservable } from 'rxjs';
import { DeadLetterPublisher } from './dead-letter.js';
import { FailureCounter } from './failure-counter.js';
import { PUBSUB_TRANSPORT_DEFAULTS, type PubSubServerOptions, type Settlement } from './options.js';
import { PubSubContext } from './pubsub-context.js';
import { ProtobufDeserializer } from './protobuf-deserializer.js';
import { UndecodableMessageError, type DeadLetterReason } from './undecodable.js';
import { describeError } from '../shared/describe-error.js';
import { TransientError } from '../shared/transient-error.js';

export const PUBSUB_TRANSPORT = Symbol('PUBSUB_TRANSPORT');

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
  /** handleEvent awaits the handler's stream, so a failure reaches us (and becomes a nack). */
  override readonly propagatesEventHandlerErrors = true;

  private pubsub: PubSub | undefined;
  private subscription: Subscription | undefined;
  private deadLetters: DeadLetterPublisher | undefined;
  private hasDeadLetterPolicy = false;
  private readonly failures: FailureCounter;
  private readonly inFlight = new Set<Promise<void>>();
  private pendingEventListeners: { event: keyof PubSubServerEventsMap; callback: PubSubServerEventsMap[keyof PubSubServerEventsMap] }[] = [];
  private readonly log: Logger;
  private readonly maxAttempts: number;
  private consecutiveTransientFailures = 0;

  constructor(
    private readonly options: PubSubServerOptions,
    schemas: DescMessage[],
  ) {
    super();
    this.deserializer = new ProtobufDeserializer(schemas);
    this.log = options.logger ?? pino({ level: 'silent' });
    this.maxAttempts = options.maxAttempts ?? PUBSUB_TRANSPORT_DEFAULTS.maxAttempts;
    this.failures = new FailureCounter(PUBSUB_TRANSPORT_DEFAULTS.attemptCacheSize);
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
    this.hasDeadLetterPolicy = Boolean(metadata.deadLetterPolicy?.deadLetterTopic);
    this.deadLetters = new DeadLetterPublisher(deadLetterTopic, subscription.name);
    this.registerErrorListener(subscription);
    this.registerCloseListener(subscription);
    for (const { event, callback } of this.pendingEventListeners.splice(0)) (subscription as EventEmitter).on(event, callback as (...args: unknown[]) => void);
    subscription.on('message', (message: Message) => this.track(this.process(message)));
    this.subscription = subscription;
    this._status$.next(PubSubStatus.CONNECTED);
    this.log.info({ subscription: subscription.name, deadLetterPolicy: this.hasDeadLetterPolicy }, 'pulling from Pub/Sub');
  }

  private async requireTopic(pubsub: PubSub, name: string): Promise<Topic> {
    const topic = pubsub.topic(name, { messageOrdering: true });
    const [exists] = await topic.exists().catch((error: unknown) => {
      throw new PubSubStartError(`dead-letter topic "${name}" is not reachable: ${describeError(error)}`, grpcCode(error), { cause: error });
    });
    if (!exists) throw new PubSubStartError(`dead-letter topic "${name}" does not exist`, 5);
    return topic;
  }

  private registerErrorListener(subscription: Subscription): void {
    // The client retries transient stream errors itself; an 'error' means it gave up (e.g. the
    // subscription was deleted), so the server is no longer receiving.
    subscription.on('error', (error: Error) => {
      this.log.error({ err: error }, 'Pub/Sub subscription stream failed');
      this._status$.next(PubSubStatus.DISCONNECTED);
    });
  }

  private registerCloseListener(subscription: Subscription): void {
    subscription.on('close', () => this._status$.next(PubSubStatus.CLOSED));
  }

  private track(task: Promise<void>): void {
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  /** Never rejects: every path ends in ack, nack or dead letter. */
  private async process(message: Message): Promise<void> {
    const started = performance.now();
    this.options.events?.received?.();
    const settle = (outcome: Settlement, schema: string, reason?: string) =>
      this.options.events?.settled?.(outcome, schema, performance.now() - started, reason);
    let packet: IncomingEvent;
    let schema: string;
    try {
      packet = (await this.deserializer.deserialize({ data: message.data, attributes: message.attributes })) as IncomingEvent;
      schema = String(packet.pattern);
      if (!this.getHandlerByPattern(schema)) throw new UndecodableMessageError('unknown_schema', `no handler for schema "${schema}"`);
    } catch (error) {
      const reason = error instanceof UndecodableMessageError ? error.reason : 'undecodable';
      return this.deadLetter(message, reason, describeError(error), message.deliveryAttempt || 1, settle);
    }
    try {
      await this.handleEvent(schema, packet, new PubSubContext([message]));
    } catch (error) {
      if (error instanceof TransientError) return this.nackLater(message, schema, error, settle);
      if (error instanceof UndecodableMessageError) return this.deadLetter(message, error.reason, describeError(error), message.deliveryAttempt || 1, settle);
      const attempts = this.hasDeadLetterPolicy ? message.deliveryAttempt || 1 : this.failures.fail(message.id);
      const detail = describeError(error);
      if (attempts >= this.maxAttempts) {
        this.failures.forget(message.id);
        return this.deadLetter(message, 'handler_failed', `failed ${attempts} times, last: ${detail}`, attempts, settle);
      }
      this.log.warn({ messageId: message.id, schema, attempts, err: detail }, 'handler failed; nacked for redelivery');
      message.nack();
      settle('nacked', schema);
      return;
    }
    this.consecutiveTransientFailures = 0;
    this.failures.forget(message.id);
    message.ack();
    settle('acked', schema);
  }

  private async nackLater(message: Message, schema: string, error: TransientError, settle: (outcome: Settlement, schema: string) => void): Promise<void> {
    const { initialMs, maxMs } = this.options.transientBackoff ?? PUBSUB_TRANSPORT_DEFAULTS.transientBackoff;
    const delay = Math.min(maxMs, initialMs * 2 ** Math.min(this.consecutiveTransientFailures++, 30));
    this.log.warn({ messageId: message.id, schema, retryInMs: delay, err: error.message }, 'transient failure; nacking after back-off');
    await new Promise((resolve) => setTimeout(resolve, delay));
    message.nack();
    settle('nacked', schema);
  }

  override handleEvent(pattern: string, packet: IncomingEvent, context: PubSubContext): Promise<void> {
    const handler = this.getHandlerByPattern(pattern);
    if (!handler) return Promise.reject(new UndecodableMessageError('unknown_schema', `no handler for schema "${pattern}"`));
    // Like ServerKafka, the handler's stream is awaited, so its failure rejects here (→ nack) instead
    // of only being logged. The span hooks see every outcome; the rejection travels through our promise.
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

  private async deadLetter(
    message: Message,
    reason: DeadLetterReason,
    detail: string,
    attempts: number,
    settle: (outcome: Settlement, schema: string, reason?: string) => void,
  ): Promise<void> {
    const schema = message.attributes['schema'] ?? '';
    try {
      await this.deadLetters!.publish(message, reason, detail, attempts);
    } catch (error) {
      // Not confirmed by Pub/Sub: keep the message (nack) rather than lose it.
      this.log.error({ messageId: message.id, reason, err: describeError(error) }, 'dead-letter publish failed; nacked');
      message.nack();
      settle('nacked', schema);
      return;
    }
    this.log.warn({ messageId: message.id, schema, reason, detail }, 'message dead-lettered');
    message.ack();
    settle('dead_lettered', schema, reason);
  }

  /** Messages being handled right now. */
  inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Readiness probe: resolves when the subscription answers, rejects otherwise. */
  async checkSubscription(): Promise<void> {
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

  /** Stops pulling at once, waits for in-flight handlers to settle their messages, then disconnects. */
  async close(): Promise<void> {
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
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]), timeout]);
    clearTimeout(timer);
    if (this.inFlight.size > 0) this.log.warn({ inFlight: this.inFlight.size }, 'drain timed out; the client nacks what is left');
  }

  private async release(): Promise<void> {
    const pubsub = this.pubsub;
    this.subscription = undefined;
    this.pubsub = undefined;
    if (pubsub) await pubsub.close();
  }
}
