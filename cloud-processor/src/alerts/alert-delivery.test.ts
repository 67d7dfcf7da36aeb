// AlertDeliveries on a manual clock with scripted targets and an in-memory store: back-off per target,
// give-up rules, and the sweep that takes over what a processor released or left behind.
import { ManualClock } from '@pdm/clock';
import { until } from '@pdm/pubsub-emulator/testing';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { deferred } from '../test-support/deferred.js';
import { MemoryAlertStore } from '../test-support/memory-alert-store.js';
import { AlertDeliveries, DeliveryRefused, type DeliveryTarget } from './alert-delivery.js';
import type { DeliveryRecord } from './alert-store.js';
import type { AlertTransition } from './alert-tracker.js';

const OPTIONS = { giveUpAfterMs: 3_600_000, takeoverAfterMs: 300_000, sweepIntervalMs: 60_000 };
const T0 = 10_000_000;
/** End of the window that opened the alerts: a minute before the processors' clock starts. */
const OPENED = T0 - 60_000;

const transition = (machineId: string): AlertTransition => ({
  state: 'open',
  alertId: `${machineId}-${OPENED}`,
  siteId: 'plant-1',
  machineId,
  openedAt: OPENED,
  message: 'm',
  score: { siteId: 'plant-1', machineId, windowStart: OPENED - 10_000, windowEnd: OPENED, model: 'm', modelVersion: '1', score: 9, threshold: 5, isAnomaly: true, contributions: {} },
});

/** The resolve of transition(machineId)'s episode, caused by the window ending `afterMs` after the open's. */
const resolveOf = (machineId: string, afterMs: number): AlertTransition => ({
  ...transition(machineId),
  state: 'resolved',
  score: { ...transition(machineId).score, windowStart: OPENED + afterMs - 10_000, windowEnd: OPENED + afterMs, isAnomaly: false },
});

/** Lets the promise callbacks of what the manual clock just ran (attempts, store reads) run too. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A target that fails while `failing` is set (retryable, refusing, or never answering), or for the
 * transitions in `failFor`, recording every attempt (in `attempts`, which two targets may share: one
 * receiver behind two processors).
 */
class ScriptedTarget implements DeliveryTarget {
  readonly sent: string[] = [];
  failing: 'no' | 'retryable' | 'refuse' | 'hang' = 'no';
  readonly failFor = new Set<string>();
  timeoutMs?: number;
  constructor(
    readonly name: string,
    readonly maxAttempts = Number.POSITIVE_INFINITY,
    readonly backoff = { initialMs: 1_000, multiplier: 2, maxMs: 4_000, jitter: 0 },
    /** Every attempt as "machine:state". */
    readonly attempts: string[] = [],
  ) {}
  send(t: AlertTransition): Promise<void> {
    this.sent.push(t.machineId);
    this.attempts.push(`${t.machineId}:${t.state}`);
    if (this.failing === 'hang') return new Promise(() => {});
    if (this.failing === 'retryable' || this.failFor.has(`${t.machineId}:${t.state}`)) return Promise.reject(new Error('unavailable'));
    if (this.failing === 'refuse') return Promise.reject(new DeliveryRefused('HTTP 404'));
    return Promise.resolve();
  }
}

function setup(targets: ScriptedTarget[], store = new MemoryAlertStore(), clock = new ManualClock(T0)) {
  const events = { failed: [] as string[], abandoned: [] as string[] };
  const deliveries = new AlertDeliveries(targets, store, OPTIONS, clock, pino({ level: 'silent' }), { failed: (t) => events.failed.push(t), abandoned: (t) => events.abandoned.push(t) });
  return { deliveries, store, clock, events };
}

const record = (machineId: string, pending: string[], createdAt: number, updatedAt: number): DeliveryRecord => ({ transition: transition(machineId), pending, attempts: 0, createdAt, updatedAt });

describe('AlertDeliveries', () => {
  it('retries each target on its own back-off (1 s, 2 s, 4 s, 4 s) until it confirms', async () => {
    const topic = new ScriptedTarget('topic');
    const webhook = new ScriptedTarget('webhook');
    topic.failing = 'retryable';
    const { deliveries, clock, store, events } = setup([topic, webhook]);
    deliveries.deliver(record('pump-1', ['topic', 'webhook'], T0, T0));
    await until(() => clock.pending() === 1, 'topic retry scheduled');
    expect(webhook.sent).toEqual(['pump-1']);
    for (const delay of [1_000, 2_000, 4_000]) {
      clock.advance(delay - 1);
      const attempts = topic.sent.length;
      expect(topic.sent).toHaveLength(attempts);
      clock.advance(1);
      await until(() => topic.sent.length === attempts + 1 && clock.pending() === 1, `attempt after ${delay} ms`);
    }
    topic.failing = 'no';
    clock.advance(4_000);
    await until(() => deliveries.pendingCount() === 0, 'delivered');
    expect(topic.sent).toHaveLength(5);
    expect(events).toEqual({ failed: ['topic', 'topic', 'topic', 'topic'], abandoned: [] });
    expect(store.saved.at(-1)).toMatchObject({ pending: [], attempts: 4 });
  });

  it('gives a target up on a refusal, after its maxAttempts, or once the record is giveUpAfterMs old', async () => {
    const refusing = new ScriptedTarget('webhook');
    refusing.failing = 'refuse';
    const limited = new ScriptedTarget('limited', 2);
    limited.failing = 'retryable';
    const aging = new ScriptedTarget('topic');
    aging.failing = 'retryable';
    const { deliveries, clock, events } = setup([refusing, limited, aging]);
    // Created 3,599 s before now: its next failure after one more second is too old to retry.
    deliveries.deliver(record('pump-1', ['webhook', 'limited', 'topic'], T0 - 3_599_000, T0));
    await until(() => events.abandoned.length === 1 && clock.pending() === 2, 'refused at once; two retries scheduled');
    clock.advance(1_000);
    await until(() => deliveries.pendingCount() === 0, 'every target given up');
    expect(events.abandoned.sort()).toEqual(['limited', 'topic', 'webhook']);
    expect([refusing.sent.length, limited.sent.length, aging.sent.length]).toEqual([1, 2, 2]);
  });

  it('takes over records released at stop at once (a start sweep reads every record), records left by a dead processor after takeoverAfterMs, and gives up ones too old', async () => {
    const topic = new ScriptedTarget('topic');
    const store = new MemoryAlertStore();
    await store.saveDelivery(record('released', ['topic'], T0 - 1_000, 0));
    await store.saveDelivery(record('left', ['topic'], T0 - 1_000, T0 - 1_000));
    await store.saveDelivery(record('ancient', ['topic'], T0 - 3_600_000, 0));
    await store.saveDelivery(record('done', [], T0 - 1_000, 0));
    const { deliveries, clock, events } = setup([topic], store);
    deliveries.start();
    await until(() => topic.sent.length === 1, 'the released record delivered at start');
    expect(topic.sent).toEqual(['released']);
    // 'ancient' (created giveUpAfterMs ago) is not sent: given up and counted, its record no longer pending.
    expect(events.abandoned).toEqual(['topic']);
    expect(store.saved.filter((r) => r.transition.machineId === 'ancient').at(-1)).toMatchObject({ pending: [], createdAt: T0 - 3_600_000 });
    // Each periodic sweep reads only the records of windows ended within giveUpAfterMs (1 h).
    const endedAfter: (number | undefined)[] = [];
    const pendingDeliveries = store.pendingDeliveries.bind(store);
    store.pendingDeliveries = (...args) => (endedAfter.push(args[1]), pendingDeliveries(...args));
    clock.advance(240_000); // four sweeps: 'left' was updated 241 s ago, under 300 s
    await until(() => endedAfter.length === 4, 'four sweeps done');
    expect(endedAfter).toEqual([1, 2, 3, 4].map((minute) => T0 + minute * 60_000 - 3_600_000));
    await settle();
    expect(topic.sent).toEqual(['released']);
    clock.advance(60_000); // 301 s
    await until(() => topic.sent.length === 2, 'the record left behind taken over');
    expect(topic.sent).toEqual(['released', 'left']);
    await deliveries.close(0);
    expect(await store.pendingDeliveries(Number.POSITIVE_INFINITY)).toEqual([]);
  });

  it('takes over a record of an old window that a processor left after this one started, in a sweep that reads every record once per takeoverAfterMs', async () => {
    const topic = new ScriptedTarget('topic');
    const store = new MemoryAlertStore();
    const endedAfter: (number | undefined)[] = [];
    const pendingDeliveries = store.pendingDeliveries.bind(store);
    store.pendingDeliveries = (...args) => (endedAfter.push(args[1]), pendingDeliveries(...args));
    const { deliveries, clock } = setup([topic], store);
    deliveries.start();
    await until(() => endedAfter.length === 1, 'the sweep at start');
    // 10 s later another processor, draining a backlog, stores the open of a window 8 days old and dies.
    clock.advance(10_000);
    const old: DeliveryRecord = { ...record('backlog', ['topic'], T0 + 10_000, T0 + 10_000), transition: { ...transition('backlog'), score: { ...transition('backlog').score, windowEnd: T0 - 8 * 86_400_000 } } };
    await store.saveDelivery(old);
    // Untouched for 300 s from T0 + 310 s. Sweeps every minute read windows ended within the hour; the
    // one at T0 + 300 s reads every record but looks for updates before T0; the one at T0 + 600 s takes it.
    for (let s = 11; s <= 599; s++) {
      clock.advance(1_000);
      await settle();
    }
    expect(topic.sent).toEqual([]);
    const recent = (minute: number) => T0 + minute * 60_000 - 3_600_000;
    expect(endedAfter).toEqual([undefined, recent(1), recent(2), recent(3), recent(4), undefined, recent(6), recent(7), recent(8), recent(9)]);
    clock.advance(1_000);
    await until(() => topic.sent.length === 1, 'the open of the old window taken over');
    expect(topic.sent).toEqual(['backlog']);
    expect(endedAfter.at(-1)).toBeUndefined();
    await deliveries.close(0);
  });

  it('sends a machine its resolve only after its open was confirmed, other machines meanwhile', async () => {
    const topic = new ScriptedTarget('topic');
    topic.failFor.add('pump-1:open');
    const { deliveries, clock, store } = setup([topic]);
    deliveries.deliver(record('pump-1', ['topic'], T0, T0));
    await until(() => clock.pending() === 1, 'the open waits for its retry');
    const resolved: DeliveryRecord = { ...record('pump-1', ['topic'], T0, T0), transition: resolveOf('pump-1', 50_000) };
    deliveries.deliver(resolved);
    deliveries.deliver(record('fan-2', ['topic'], T0, T0));
    await until(() => topic.attempts.length === 2, 'fan-2 sent');
    clock.advance(1_000);
    await until(() => clock.pending() === 1, 'the open failed again');
    // The resolve waited behind the open; the open's failed attempts kept its record, and the waiting resolve's, alive.
    expect(topic.attempts).toEqual(['pump-1:open', 'fan-2:open', 'pump-1:open']);
    expect(store.saved.filter((r) => r.transition.machineId === 'pump-1').map((r) => r.transition.state)).toEqual(['open', 'open', 'resolved']);
    topic.failFor.clear();
    clock.advance(2_000);
    await until(() => deliveries.pendingCount() === 0, 'open, then resolve');
    expect(topic.attempts.slice(3)).toEqual(['pump-1:open', 'pump-1:resolved']);
  });

  it('holds at most maxPending transitions for a target and gives it up for the ones beyond', async () => {
    const hook = Object.assign(new ScriptedTarget('webhook'), { maxPending: 1 });
    hook.failing = 'retryable';
    const { deliveries, events } = setup([hook]);
    deliveries.deliver(record('pump-1', ['webhook'], T0, T0));
    deliveries.deliver(record('pump-2', ['webhook'], T0, T0));
    await until(() => events.failed.length === 1, 'the first attempt failed');
    expect(events.abandoned).toEqual(['webhook']);
    expect(hook.sent).toEqual(['pump-1']);
    expect(deliveries.pendingCount()).toBe(1);
    await deliveries.close(0);
  });

  it('sends a resolve made on another processor only after the open a dead processor left pending, which a sweep takes over', async () => {
    const store = new MemoryAlertStore();
    // Processor a counted the open, could not publish it and died: its record stays pending, last updated at T0.
    await store.saveDelivery(record('pump-1', ['topic'], T0, T0));
    const topic = new ScriptedTarget('topic');
    const { deliveries, clock } = setup([topic], store);
    deliveries.start();
    // Processor b counted the window that resolved the episode: its record is stored, then delivered.
    const resolve: DeliveryRecord = { transition: resolveOf('pump-1', 50_000), pending: ['topic'], attempts: 0, createdAt: T0, updatedAt: T0 };
    await store.saveDelivery(resolve);
    deliveries.deliver(resolve);
    // The open is taken over by the first sweep that finds it 300 s untouched: at T0 + 360 s (the one at
    // T0 + 300 s looks for updates before T0, strictly). Meanwhile the resolve waits, kept fresh.
    for (let s = 1; s <= 359; s++) {
      clock.advance(1_000);
      await settle();
    }
    expect(topic.attempts).toEqual([]);
    expect(store.deliveries.size).toBe(2);
    expect([...store.deliveries.values()].find((r) => r.transition.state === 'resolved')?.updatedAt).toBeGreaterThan(T0 + 300_000 - 4_000);
    clock.advance(1_000);
    await until(() => deliveries.pendingCount() === 0, 'open, then resolve');
    expect(topic.attempts).toEqual(['pump-1:open', 'pump-1:resolved']);
  });

  it('gives up, counted, an open a dead processor left pending past giveUpAfterMs, then sends the resolve that waited for it', async () => {
    const store = new MemoryAlertStore();
    // Processor a held the open for 59 min (retrying, its record kept fresh) and died 10 s before T0.
    await store.saveDelivery(record('pump-1', ['topic'], T0 - 3_540_000, T0 - 10_000));
    const topic = new ScriptedTarget('topic');
    const { deliveries, clock, events } = setup([topic], store);
    deliveries.start();
    const resolve: DeliveryRecord = { transition: resolveOf('pump-1', 3_540_000), pending: ['topic'], attempts: 0, createdAt: T0, updatedAt: T0 };
    await store.saveDelivery(resolve);
    deliveries.deliver(resolve);
    // The open is 1 h old from T0 + 60 s, untouched for 300 s from T0 + 290 s: the sweep at T0 + 300 s (it
    // reads every record) gives it up; the resolve, re-checking every 4 s, goes at its next check.
    for (let s = 1; s <= 299; s++) {
      clock.advance(1_000);
      await settle();
    }
    expect(topic.attempts).toEqual([]);
    expect(events.abandoned).toEqual([]);
    for (let s = 300; s <= 304; s++) {
      clock.advance(1_000);
      await settle();
    }
    expect(topic.attempts).toEqual(['pump-1:resolved']);
    expect(events.abandoned).toEqual(['topic']);
    expect([...store.deliveries.values()].map((r) => [r.transition.state, r.pending])).toEqual([
      ['open', []],
      ['resolved', []],
    ]);
    await deliveries.close(0);
  });

  it('close() cancels the timeout of an attempt in flight: no timer is left, nothing runs after it', async () => {
    const topic = new ScriptedTarget('topic');
    topic.failing = 'hang';
    topic.timeoutMs = 60_000;
    const { deliveries, clock, store, events } = setup([topic]);
    deliveries.deliver(record('pump-1', ['topic'], T0, T0));
    await until(() => topic.attempts.length === 1, 'the attempt in flight');
    await deliveries.close(0);
    expect(clock.pending()).toBe(0);
    clock.advance(3_600_000);
    await settle();
    expect(topic.attempts).toEqual(['pump-1:open']);
    expect(events.failed).toEqual([]);
    expect(store.saved.at(-1)).toMatchObject({ pending: ['topic'], updatedAt: 0 });
  });

  it('after close() sends nothing: a sweep answering late takes nothing over, a record handed over later is released', async () => {
    const topic = new ScriptedTarget('topic');
    const store = new MemoryAlertStore();
    await store.saveDelivery(record('released', ['topic'], T0 - 1_000, 0));
    const answer = deferred();
    const pendingDeliveries = store.pendingDeliveries.bind(store);
    store.pendingDeliveries = async (...args) => (await answer.promise, pendingDeliveries(...args));
    const { deliveries, clock } = setup([topic], store);
    deliveries.start(); // its sweep waits for the store's answer
    await deliveries.close(0);
    answer.resolve();
    await settle();
    deliveries.deliver(record('late', ['topic'], T0, T0)); // a window whose points were stored after the stop
    await settle();
    expect(topic.attempts).toEqual([]);
    expect(clock.pending()).toBe(0);
    // Both left pending and released (updated at 0) for the next sweep of any processor, none claimed here.
    expect(store.saved.map((r) => [r.transition.machineId, r.pending, r.updatedAt])).toEqual([
      ['released', ['topic'], 0],
      ['late', ['topic'], 0],
    ]);
  });

  it('sends a resolve only once the processor still delivering its open has delivered it', async () => {
    const store = new MemoryAlertStore();
    const clock = new ManualClock(T0);
    const received: string[] = [];
    const [topicA, topicB] = [new ScriptedTarget('topic', undefined, undefined, received), new ScriptedTarget('topic', undefined, undefined, received)];
    topicA.failFor.add('pump-1:open');
    const a = setup([topicA], store, clock);
    const b = setup([topicB], store, clock);
    const open = record('pump-1', ['topic'], T0, T0);
    await store.saveDelivery(open);
    a.deliveries.deliver(open);
    await until(() => clock.pending() === 1, 'a retries the open in 1 s');
    const resolve: DeliveryRecord = { transition: resolveOf('pump-1', 50_000), pending: ['topic'], attempts: 0, createdAt: T0, updatedAt: T0 };
    await store.saveDelivery(resolve);
    b.deliveries.deliver(resolve);
    await settle();
    expect(received).toEqual(['pump-1:open']);
    topicA.failFor.clear();
    // a's retry at 1 s confirms the open; b's checks at 1 s and 1 + 2 s: the later one finds it delivered.
    for (let s = 1; s <= 3; s++) {
      clock.advance(1_000);
      await settle();
    }
    await until(() => a.deliveries.pendingCount() + b.deliveries.pendingCount() === 0, 'both delivered');
    expect(received).toEqual(['pump-1:open', 'pump-1:open', 'pump-1:resolved']);
    expect(topicB.sent).toEqual(['pump-1']);
  });

  it('fails an attempt the target leaves unanswered for its timeoutMs, and keeps the record fresh meanwhile so no other processor takes it over', async () => {
    const store = new MemoryAlertStore();
    const clock = new ManualClock(T0);
    // 290 s per attempt, 100 s between attempts: the record would look 390 s idle at the second attempt's start.
    const hanging = new ScriptedTarget('topic', undefined, { initialMs: 100_000, multiplier: 1, maxMs: 100_000, jitter: 0 });
    hanging.failing = 'hang';
    hanging.timeoutMs = 290_000;
    const other = new ScriptedTarget('topic');
    const a = setup([hanging], store, clock);
    const b = setup([other], store, clock);
    a.deliveries.start();
    b.deliveries.start();
    const open = record('pump-1', ['topic'], T0, T0);
    await store.saveDelivery(open);
    a.deliveries.deliver(open);
    for (let s = 10; s <= 700; s += 10) {
      clock.advance(10_000);
      await settle();
    }
    // Attempts at 0 s and 390 s, both given up on after 290 s (at 290 s and 680 s); the third is due at 780 s.
    expect(hanging.attempts).toEqual(['pump-1:open', 'pump-1:open']);
    expect(a.events.failed).toEqual(['topic', 'topic']);
    expect(other.attempts).toEqual([]);
    await Promise.all([a.deliveries.close(0), b.deliveries.close(0)]);
  });
});
