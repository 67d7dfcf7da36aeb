import { ManualClock } from '@pdm/clock';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { EarlierWindowFailedError } from '../pipeline/machine-lanes.js';
import { BehindFailureError } from './behind-failure.js';
import { TransientError } from '../shared/transient-error.js';
import { UnusableMessageError, type DeadLetterReason } from './poison-message.js';
import { Settler, type SettleableMessage } from './settlement.js';

/** A message that records how it was settled. */
class TestMessage implements SettleableMessage {
  settledAs: 'ack' | 'nack' | undefined;
  constructor(
    readonly id: string,
    readonly deliveryAttempt = 0,
  ) {}
  ack(): void {
    this.settledAs = 'ack';
  }
  nack(): void {
    this.settledAs = 'nack';
  }
}

describe('Settler', () => {
  let clock: ManualClock;
  let deadLetters: { id: string; reason: DeadLetterReason; detail: string; attempts: number }[];
  let deadLetterFails: boolean;
  let settler: Settler<TestMessage>;

  beforeEach(() => {
    clock = new ManualClock();
    deadLetters = [];
    deadLetterFails = false;
    settler = new Settler<TestMessage>(
      // random() = 0: no jitter taken, so delays are exact.
      { maxAttempts: 3, transientBackoff: { initialMs: 100, maxMs: 10_000 }, clock, random: () => 0 },
      (message, reason, detail, attempts) => {
        if (deadLetterFails) return Promise.reject(new Error('PERMISSION_DENIED'));
        deadLetters.push({ id: message.id, reason, detail, attempts });
        return Promise.resolve('dl-1');
      },
      pino({ level: 'silent' }),
    );
  });

  it('acks a handled message', () => {
    const message = new TestMessage('m1');
    expect(settler.handled(message)).toEqual({ outcome: 'acked' });
    expect(message.settledAs).toBe('ack');
  });

  it('nacks a message behind a nacked one at once, and not as a failure of its own', async () => {
    const message = new TestMessage('m1');
    for (let i = 0; i < 5; i++) expect(settler.behindNack(message, 'pdm.v1.MachineWindow')).toEqual({ outcome: 'nacked' });
    expect(message.settledAs).toBe('nack');
    // Its own first failure is its first attempt of maxAttempts (3): nacked, not dead-lettered.
    expect(await settler.failed(message, 'pdm.v1.MachineWindow', new Error('model exploded'))).toEqual({ outcome: 'nacked' });
    expect(deadLetters).toEqual([]);
  });

  it('nacks a message refused because an earlier one of its key failed, never dead-letters it, however high its delivery attempt', async () => {
    // Its delivery attempt grew while it was nacked behind the failing message; the refusal is not its own failure.
    const message = new TestMessage('behind', 5);
    expect(await settler.failed(message, 'pdm.v1.FeatureBatch', new EarlierWindowFailedError('pump-1'))).toEqual({ outcome: 'nacked' });
    expect(message.settledAs).toBe('nack');
    expect(deadLetters).toEqual([]);
  });

  /** Moves the clock to just before `ms`, then to it: the message must be nacked exactly then. */
  async function expectNackedAfter(message: TestMessage, ms: number): Promise<void> {
    clock.advance(ms - 1);
    await Promise.resolve();
    expect(message.settledAs).toBeUndefined();
    clock.advance(1);
    await Promise.resolve();
    expect(message.settledAs).toBe('nack');
  }

  it('holds a transiently failed message for the back-off, doubling per consecutive failure, then nacks it', async () => {
    for (const [id, delay] of [['a', 100], ['b', 200], ['c', 400]] as const) {
      const message = new TestMessage(id);
      const settling = settler.failed(message, 'pdm.v1.MachineWindow', new TransientError('InfluxDB down'));
      await expectNackedAfter(message, delay);
      expect(await settling).toEqual({ outcome: 'nacked' });
    }
    // A success ends the outage: the next transient failure starts from the initial delay again.
    settler.handled(new TestMessage('ok'));
    const message = new TestMessage('d');
    void settler.failed(message, 'pdm.v1.MachineWindow', new TransientError('InfluxDB down'));
    await expectNackedAfter(message, 100);
  });

  it('takes up to 20% off a back-off at random, so instances that failed together do not retry together', async () => {
    const jittered = new Settler<TestMessage>({ transientBackoff: { initialMs: 1_000, maxMs: 10_000 }, clock, random: () => 0.5 }, () => Promise.resolve(), pino({ level: 'silent' }));
    const message = new TestMessage('m');
    void jittered.failed(message, 'pdm.v1.MachineWindow', new TransientError('InfluxDB down'));
    await expectNackedAfter(message, 900);
  });

  it('nacks held messages at once on stop(), and later transient failures without a hold', async () => {
    const held = new TestMessage('held');
    const settling = settler.failed(held, 'pdm.v1.MachineWindow', new TransientError('InfluxDB down'));
    expect(clock.pending()).toBe(1);
    settler.stop();
    expect(await settling).toEqual({ outcome: 'nacked' });
    expect(held.settledAs).toBe('nack');
    expect(clock.pending()).toBe(0);
    const late = new TestMessage('late');
    expect(await settler.failed(late, 'pdm.v1.MachineWindow', new TransientError('InfluxDB down'))).toEqual({ outcome: 'nacked' });
    expect(clock.now()).toBe(0);
  });

  it('holds a full flow-control window of messages through an outage without a listener-leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const held = Array.from({ length: 50 }, (_, i) => settler.failed(new TestMessage(`m${i}`), 'pdm.v1.MachineWindow', new TransientError('InfluxDB down')));
      settler.stop();
      expect(await Promise.all(held)).toEqual(held.map(() => ({ outcome: 'nacked' })));
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('never dead-letters for transient failures, however many', async () => {
    settler.stop(); // no holds: only the count matters here
    for (let i = 0; i < 10; i++) await settler.failed(new TestMessage('m'), 'pdm.v1.MachineWindow', new TransientError('InfluxDB down'));
    expect(deadLetters).toEqual([]);
  });

  it('nacks a failed handler run until maxAttempts, then dead-letters it with the last error, and acks it', async () => {
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await settler.failed(new TestMessage('m'), 'pdm.v1.MachineWindow', new Error(`model exploded ${i}`)));
    expect(outcomes).toEqual([{ outcome: 'nacked' }, { outcome: 'nacked' }, { outcome: 'dead_lettered', reason: 'handler_failed' }]);
    expect(deadLetters).toEqual([{ id: 'm', reason: 'handler_failed', detail: 'failed 3 times, last: model exploded 2', attempts: 3 }]);
    // Forgotten once dead-lettered: the same id starts counting again.
    expect(await settler.failed(new TestMessage('m'), 'pdm.v1.MachineWindow', new Error('again'))).toEqual({ outcome: 'nacked' });
  });

  it("counts with Pub/Sub's delivery attempt when the subscription has a dead-letter policy", async () => {
    expect(await settler.failed(new TestMessage('m', 2), 'pdm.v1.MachineWindow', new Error('boom'))).toEqual({ outcome: 'nacked' });
    const third = new TestMessage('m', 3);
    expect(await settler.failed(third, 'pdm.v1.MachineWindow', new Error('boom'))).toEqual({ outcome: 'dead_lettered', reason: 'handler_failed' });
    expect(third.settledAs).toBe('ack');
    expect(deadLetters[0]?.attempts).toBe(3);
  });

  it("takes the redeliveries that were no failure of its own off Pub/Sub's delivery attempt", async () => {
    settler.stop(); // no holds: only the count matters here
    // Delivery 1 failed transiently (InfluxDB down), delivery 2 came behind an earlier message's failure:
    // neither counts, so deliveries 3 and 4 failing are its first two failures, delivery 5 its third.
    await settler.failed(new TestMessage('m', 1), 'pdm.v1.MachineWindow', new TransientError('InfluxDB down'));
    await settler.failed(new TestMessage('m', 2), 'pdm.v1.MachineWindow', new BehindFailureError('pump-1 failed before'));
    expect(await settler.failed(new TestMessage('m', 3), 'pdm.v1.MachineWindow', new Error('boom'))).toEqual({ outcome: 'nacked' });
    expect(await settler.failed(new TestMessage('m', 4), 'pdm.v1.MachineWindow', new Error('boom'))).toEqual({ outcome: 'nacked' });
    expect(await settler.failed(new TestMessage('m', 5), 'pdm.v1.MachineWindow', new Error('boom'))).toEqual({ outcome: 'dead_lettered', reason: 'handler_failed' });
    expect(deadLetters).toEqual([{ id: 'm', reason: 'handler_failed', detail: 'failed 3 times, last: boom', attempts: 3 }]);
  });

  it('dead-letters a poison message at once, and nacks it instead when the dead letter is not confirmed', async () => {
    const unusable = new UnusableMessageError('GatewayHealth needs gateway_id');
    const message = new TestMessage('p');
    expect(await settler.failed(message, 'pdm.v1.GatewayHealth', unusable)).toEqual({ outcome: 'dead_lettered', reason: 'unusable' });
    expect(message.settledAs).toBe('ack');
    expect(deadLetters).toEqual([{ id: 'p', reason: 'unusable', detail: 'GatewayHealth needs gateway_id', attempts: 1 }]);

    deadLetterFails = true;
    const kept = new TestMessage('q');
    expect(await settler.poison(kept, 'pdm.v1.GatewayHealth', unusable)).toEqual({ outcome: 'nacked' });
    expect(kept.settledAs).toBe('nack');
  });
});
