import type { Message } from '@google-cloud/pubsub';
import { status } from '@grpc/grpc-js';
import { Controller, Inject, Module, UseFilters, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ManualClock } from '@pdm/clock';
import { MachineWindowSchema, schemaAttribute, type MachineWindow } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { firstValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PassThroughRpcFilter } from '../pipeline/pass-through.filter.js';
import { TransientError } from '../shared/transient-error.js';
import { deferred, type Deferred } from '../test-support/deferred.js';
import { startPubSubTestbed, type PubSubTestbed } from '../test-support/pubsub-testbed.js';
import { makeWindow } from '../test-support/windows.js';
import { DEAD_LETTER_REASON_ATTRIBUTES } from './dead-letter.js';
import type { PubSubServerOptions } from './options.js';
import type { PubSubContext } from './pubsub-context.js';
import { UnusableMessageError } from './poison-message.js';
import { PubSubServer, PubSubStartError } from './pubsub-server.js';

/** What the test handler does with each window; tests swap it. */
class Behaviour {
  seen: MachineWindow[] = [];
  run: (window: MachineWindow, call: number) => Promise<void> = () => Promise.resolve();
  /** Release the ordering key at once (PubSubContext.releaseOrderingKey), as the windows controller does once its windows are queued. */
  releaseEarly = false;
}

@Controller()
@UseFilters(PassThroughRpcFilter)
class WindowHandler {
  constructor(@Inject(Behaviour) private readonly behaviour: Behaviour) {}

  @EventPattern<string>(schemaAttribute(MachineWindowSchema))
  async onWindow(@Payload() window: MachineWindow, @Ctx() context: PubSubContext): Promise<void> {
    this.behaviour.seen.push(window);
    const done = this.behaviour.run(window, this.behaviour.seen.length);
    if (this.behaviour.releaseEarly) context.releaseOrderingKey();
    await done;
  }
}

function windowServer(bed: PubSubTestbed, overrides: Partial<PubSubServerOptions> = {}): PubSubServer {
  return new PubSubServer({ client: bed.clientConfig, subscription: bed.subscription, deadLetterTopic: bed.deadLetterTopic, maxAttempts: 3, ...overrides }, [MachineWindowSchema]);
}

/** A microservice whose window handler does what `behaviour` says; not listening yet, so a failing listen() still leaves it to close. */
function createWindowApp(server: PubSubServer, behaviour: Behaviour): Promise<INestMicroservice> {
  @Module({ controllers: [WindowHandler], providers: [{ provide: Behaviour, useValue: behaviour }] })
  class TestModule {}
  return NestFactory.createMicroservice(TestModule, { strategy: server, logger: false });
}

describe('PubSubServer (NestJS custom transport) against the emulator with the official client', () => {
  let bed: PubSubTestbed;
  let behaviour: Behaviour;
  let app: INestMicroservice | undefined;

  beforeEach(async () => {
    bed = await startPubSubTestbed();
    behaviour = new Behaviour();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await bed.close();
  });

  const makeServer = (overrides: Partial<PubSubServerOptions> = {}) => windowServer(bed, overrides);

  async function startApp(server = makeServer()): Promise<PubSubServer> {
    app = await createWindowApp(server, behaviour);
    await app.listen();
    return server;
  }

  it('acks a message only after its handler resolved', async () => {
    const release = deferred();
    behaviour.run = () => release.promise;
    await startApp();
    const window = makeWindow({ machine: 'pump-3', index: 4 });
    await bed.publishWindow(window);
    await until(() => behaviour.seen.length === 1, 'handler called');
    expect(behaviour.seen[0]).toEqual(window);
    expect(bed.stats()).toMatchObject({ outstanding: 1, acked: 0 });
    release.resolve();
    await until(() => bed.stats().acked === 1, 'ack');
    expect(bed.stats()).toMatchObject({ nacked: 0, outstanding: 0, backlog: 0 });
  });

  it('nacks when the handler fails, so Pub/Sub redelivers until it succeeds', async () => {
    behaviour.run = (_w, call) => (call <= 2 ? Promise.reject(new Error(`InfluxDB write failed (call ${call})`)) : Promise.resolve());
    await startApp();
    await bed.publishWindow(makeWindow());
    await until(() => bed.stats().acked === 1, 'ack after two failures');
    expect(behaviour.seen).toHaveLength(3);
    expect(bed.stats()).toMatchObject({ nacked: 2, redelivered: 2 });
    expect(bed.deadLetters.messages).toHaveLength(0);
  });

  it('dead-letters messages that can never be decoded, with the reason, and acks them', async () => {
    await startApp();
    const schema = schemaAttribute(MachineWindowSchema);
    await bed.publishRaw(Buffer.from([0xff, 0xff, 0xff]), { schema });
    await bed.publishRaw(Buffer.from('hello'), { schema: 'pdm.v9.Mystery' });
    await bed.publishRaw(Buffer.from('no schema'), { gateway: 'gw-1' });
    const dead = await bed.deadLetters.waitFor(3);
    const reasons: Record<string, Message> = Object.fromEntries(dead.map((m) => [m.attributes[DEAD_LETTER_REASON_ATTRIBUTES.reason] ?? '', m]));
    expect(Object.keys(reasons).sort()).toEqual(['missing_schema', 'undecodable', 'unknown_schema']);
    expect(reasons['undecodable']!.data).toEqual(Buffer.from([0xff, 0xff, 0xff]));
    expect(reasons['undecodable']!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.detail]).toMatch(/not a valid pdm.v1.MachineWindow/);
    expect(reasons['unknown_schema']!.attributes['schema']).toBe('pdm.v9.Mystery');
    expect(reasons['missing_schema']!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.subscription]).toContain(bed.subscription);
    await until(() => bed.stats().acked === 3, 'originals acked');
    expect(behaviour.seen).toHaveLength(0);
  });

  it('cuts a dead letter\'s detail to Pub/Sub\'s 1024 bytes of UTF-8, whatever the characters it quotes', async () => {
    await startApp();
    // A valid attribute of 1023 bytes in 341 characters: the detail that quotes it is over 1024 bytes,
    // though far under 900 characters. Refused, the dead letter would leave its message redelivered for ever.
    const schema = '\u6a5f'.repeat(341);
    await bed.publishRaw(Buffer.from('hello'), { schema });
    const [dead] = await bed.deadLetters.waitFor(1);
    const detail = dead!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.detail]!;
    expect(dead!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.reason]).toBe('unknown_schema');
    expect(Buffer.byteLength(detail)).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(detail)).toBeGreaterThan(1020);
    expect(detail).not.toContain('\ufffd');
    expect(detail).toContain('\u6a5f'.repeat(100));
    await until(() => bed.stats().acked === 1, 'original acked');
  });

  it('dead-letters a message whose handler failed maxAttempts times, naming the last error', async () => {
    behaviour.run = () => Promise.reject(new Error('model exploded'));
    await startApp(makeServer({ maxAttempts: 3 }));
    const id = await bed.publishWindow(makeWindow());
    const [dead] = await bed.deadLetters.waitFor(1);
    expect(dead!.attributes).toMatchObject({
      [DEAD_LETTER_REASON_ATTRIBUTES.reason]: 'handler_failed',
      [DEAD_LETTER_REASON_ATTRIBUTES.attempts]: '3',
      [DEAD_LETTER_REASON_ATTRIBUTES.messageId]: id,
    });
    expect(dead!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.detail]).toMatch(/model exploded/);
    expect(dead!.orderingKey).toBe(makeWindow().machineId);
    await until(() => bed.stats().acked === 1, 'original acked');
    expect(behaviour.seen).toHaveLength(3);
  });

  it('nacks a message whose dead letter could not be published, and dead-letters it on redelivery, ordering key kept', async () => {
    const gate = deferred();
    behaviour.run = async () => {
      await gate.promise;
      throw new Error('model exploded');
    };
    await startApp(makeServer({ maxAttempts: 1 }));
    await bed.publishWindow(makeWindow());
    // The next Publish is the dead letter's: it fails once.
    bed.t.emulator.failNext('Publish', 1, status.PERMISSION_DENIED);
    gate.resolve();
    const [dead] = await bed.deadLetters.waitFor(1);
    expect(dead!.orderingKey).toBe(makeWindow().machineId);
    await until(() => bed.stats().acked === 1, 'original acked once its dead letter is confirmed');
    expect(bed.stats().nacked).toBeGreaterThanOrEqual(1);
  });

  it('reports a missing subscription through listen(), never as a healthy-looking server', async () => {
    const server = makeServer({ subscription: 'no-such-subscription' });
    const error = await startApp(server).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PubSubStartError);
    expect((error as PubSubStartError).code).toBe(5); // NOT_FOUND
    expect((error as Error).message).toMatch(/subscription "no-such-subscription" is not reachable: .*NOT_FOUND/);
    expect(() => server.unwrap()).toThrow(/Not initialized/);
  });

  it('refuses to start without its dead-letter topic', async () => {
    const error = await startApp(makeServer({ deadLetterTopic: 'no-such-topic' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/dead-letter topic "no-such-topic" does not exist/);
  });

  it('unwrap() throws before listen(); afterwards it gives the client and the status stream says connected', async () => {
    const server = makeServer();
    expect(() => server.unwrap()).toThrow(/Not initialized/);
    await startApp(server);
    expect(server.unwrap<{ subscription: { name: string } }>().subscription.name).toContain(bed.subscription);
    expect(await firstValueFrom(server.status)).toBe('connected');
  });

  it('close() stops pulling and waits for in-flight handlers, whose messages are then acked', async () => {
    const release = deferred();
    behaviour.run = () => release.promise;
    const server = await startApp(makeServer({ streams: 1 }));
    await bed.publishWindow(makeWindow());
    await until(() => behaviour.seen.length === 1, 'handler called');
    const streamsBefore = bed.t.emulator.stats().openStreams;
    let closed = false;
    const closing = app!.close().then(() => (closed = true));
    app = undefined;
    await until(() => bed.t.emulator.stats().openStreams === streamsBefore - 1, 'processor stream closed');
    expect(closed).toBe(false);
    expect(server.inFlightCount()).toBe(1);
    release.resolve();
    await closing;
    expect(bed.stats()).toMatchObject({ acked: 1, nacked: 0 });
    expect(await firstValueFrom(server.status)).toBe('closed');
    expect(server.failure).toBeUndefined(); // the subscription closed because close() asked
  });

  it('rides out a stream status the client retries, and reports one it does not retry as stopped for good, naming the subscription', async () => {
    const server = await startApp(makeServer({ streams: 1 }));
    await bed.publishWindow(makeWindow({ index: 1 }));
    await until(() => bed.stats().acked === 1, 'ack: the stream is open');
    bed.t.emulator.dropStreams(status.UNAVAILABLE);
    await bed.publishWindow(makeWindow({ index: 2 }));
    await until(() => bed.stats().acked === 2, 'ack after the client reopened its stream');
    expect(server.failure).toBeUndefined();
    await expect(server.checkSubscription()).resolves.toBeUndefined();

    bed.t.emulator.dropStreams(status.PERMISSION_DENIED, 'caller lacks pubsub.subscriptions.consume');
    const why = `stopped pulling from Pub/Sub subscription "projects/pdm-test/subscriptions/${bed.subscription}" for good: caller lacks pubsub.subscriptions.consume (gRPC code 7)`;
    await expect.poll(() => server.failure?.message, { timeout: 5_000 }).toBe(why);
    await expect(server.failed).resolves.toBe(server.failure);
    // The subscription's metadata is still readable (the viewer role survives), yet readiness fails with why.
    await expect(server.checkSubscription()).rejects.toThrow(why);
    await bed.publishWindow(makeWindow({ index: 3 }));
    await expect(until(() => behaviour.seen.length > 2, 'a delivery', 1_000)).rejects.toThrow();
  });

  it('close() during an InfluxDB outage nacks the message held in its back-off at once instead of waiting it out', async () => {
    // The back-off runs on a manual clock that the test never moves: if close() waited for it, it would never return.
    const clock = new ManualClock();
    behaviour.run = () => Promise.reject(new TransientError('InfluxDB write failed: connect ECONNREFUSED'));
    const server = await startApp(makeServer({ clock, transientBackoff: { initialMs: 10_000, maxMs: 10_000 } }));
    await bed.publishWindow(makeWindow());
    await until(() => clock.pending() === 1, 'message held in its 10 s back-off');
    expect(server.inFlightCount()).toBe(1);
    await app!.close();
    app = undefined;
    expect(clock.now()).toBe(0);
    expect(clock.pending()).toBe(0);
    expect(server.inFlightCount()).toBe(0);
    expect(bed.stats()).toMatchObject({ acked: 0, nacked: 1 });
    expect(bed.deadLetters.messages).toHaveLength(0);
  });
});

describe('PubSubServer: one ordering key at a time, when Pub/Sub delivers several of a key together', () => {
  let bed: PubSubTestbed;
  let behaviour: Behaviour;
  let app: INestMicroservice | undefined;
  const label = (w: MachineWindow) => `${w.machineId}:${(Number(w.windowStart) - Number(makeWindow().windowStart)) / 10_000}`;

  beforeEach(async () => {
    bed = await startPubSubTestbed({ orderingKeyBatch: 10 });
    behaviour = new Behaviour();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await bed.close();
  });

  async function startApp(): Promise<PubSubServer> {
    const server = windowServer(bed);
    app = await createWindowApp(server, behaviour);
    await app.listen();
    return server;
  }

  it("starts a key's next message only after the one before is settled, while other keys run alongside", async () => {
    const held = new Map<string, Deferred>();
    behaviour.run = (w) => {
      const gate = deferred();
      held.set(label(w), gate);
      return gate.promise;
    };
    // Published before the processor starts, so each key's messages go out together.
    for (const index of [0, 1, 2]) await bed.publishWindow(makeWindow({ machine: 'pump-1', index }));
    await bed.publishWindow(makeWindow({ machine: 'fan-2', index: 0 }));
    const server = await startApp();
    await until(() => server.inFlightCount() === 4, 'all four messages received');
    await until(() => behaviour.seen.length === 2, 'the first of each key handled');
    expect(behaviour.seen.map(label).sort()).toEqual(['fan-2:0', 'pump-1:0']);
    expect(bed.stats()).toMatchObject({ outstanding: 4, acked: 0 });

    held.get('pump-1:0')!.resolve();
    await until(() => behaviour.seen.length === 3, 'the second of pump-1 handled');
    expect(label(behaviour.seen[2]!)).toBe('pump-1:1');
    await until(() => bed.stats().acked === 1, 'the first of pump-1 acked');
    // Its handler is running, not yet settled: the third waits.
    expect(behaviour.seen).toHaveLength(3);
    held.get('pump-1:1')!.resolve();
    await until(() => behaviour.seen.length === 4, 'the third of pump-1 handled');
    held.get('pump-1:2')!.resolve();
    held.get('fan-2:0')!.resolve();
    await until(() => bed.stats().acked === 4, 'all acked');
    expect(behaviour.seen.map(label).filter((l) => l.startsWith('pump-1'))).toEqual(['pump-1:0', 'pump-1:1', 'pump-1:2']);
  });

  it('nacks the messages waiting behind a nacked one unhandled, so they come back after it and never overtake it', async () => {
    let failures = 0;
    behaviour.run = (w) => (label(w) === 'pump-1:0' && failures++ === 0 ? Promise.reject(new Error('InfluxDB refused the points')) : Promise.resolve());
    for (const index of [0, 1, 2]) await bed.publishWindow(makeWindow({ machine: 'pump-1', index }));
    await startApp();
    await until(() => bed.stats().acked === 3, 'all acked');
    // 0 failed; 1 and 2 were nacked without running; the three came back in order.
    expect(behaviour.seen.map(label)).toEqual(['pump-1:0', 'pump-1:0', 'pump-1:1', 'pump-1:2']);
    // Only the first nack counts at the emulator: it ended the leases of 1 and 2 (redelivered with it,
    // as the service does), so their nacks are ignored, as there.
    expect(bed.stats()).toMatchObject({ nacked: 1, redelivered: 3, backlog: 0 });
    expect(bed.deadLetters.messages).toHaveLength(0);
  });

  it('lets a key move on past a message it dead-lettered', async () => {
    behaviour.run = (w) => (label(w) === 'pump-1:0' ? Promise.reject(new UnusableMessageError('a window nothing can use')) : Promise.resolve());
    for (const index of [0, 1]) await bed.publishWindow(makeWindow({ machine: 'pump-1', index }));
    await startApp();
    await until(() => bed.stats().acked === 2, 'both acked');
    expect(behaviour.seen.map(label)).toEqual(['pump-1:0', 'pump-1:1']);
    expect(bed.deadLetters.messages).toHaveLength(1);
    expect(bed.stats()).toMatchObject({ nacked: 0, redelivered: 0 });
  });

  it("starts a key's next message once the handler before released the key, yet acks it only after that one", async () => {
    behaviour.releaseEarly = true;
    const first = deferred();
    behaviour.run = (w) => (label(w) === 'pump-1:0' ? first.promise : Promise.resolve());
    for (const index of [0, 1]) await bed.publishWindow(makeWindow({ machine: 'pump-1', index }));
    await startApp();
    await until(() => behaviour.seen.length === 2, 'the second handled while the first is held');
    expect(behaviour.seen.map(label)).toEqual(['pump-1:0', 'pump-1:1']);
    // A message of another key, handled after the second: once it is acked, the second is still not.
    await bed.publishWindow(makeWindow({ machine: 'fan-2', index: 0 }));
    await until(() => bed.stats().acked === 1, 'the other key acked');
    expect(bed.stats()).toMatchObject({ acked: 1, outstanding: 2 });
    first.resolve();
    await until(() => bed.stats().acked === 3, 'all acked');
    expect(bed.stats()).toMatchObject({ nacked: 0, redelivered: 0 });
  });

  it('nacks a message handled early when the one before it fails, and both come back in order and are handled again', async () => {
    behaviour.releaseEarly = true;
    const secondHandled = deferred();
    let failures = 0;
    behaviour.run = async (w) => {
      if (label(w) === 'pump-1:1') return secondHandled.resolve();
      if (failures++ > 0) return;
      await secondHandled.promise; // the second is handled before the first fails
      throw new Error('InfluxDB refused the points');
    };
    for (const index of [0, 1]) await bed.publishWindow(makeWindow({ machine: 'pump-1', index }));
    await startApp();
    await until(() => bed.stats().acked === 2, 'both acked after the redelivery');
    expect(behaviour.seen.map(label)).toEqual(['pump-1:0', 'pump-1:1', 'pump-1:0', 'pump-1:1']);
    // The second's nack came after the first's had ended its lease (redelivered with it): ignored.
    expect(bed.stats()).toMatchObject({ nacked: 1, redelivered: 2, backlog: 0 });
    expect(bed.deadLetters.messages).toHaveLength(0);
  });
});
