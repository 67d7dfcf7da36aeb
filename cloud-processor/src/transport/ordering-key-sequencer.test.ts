import { describe, expect, it } from 'vitest';
import { deferred, type Deferred } from '../test-support/deferred.js';
import { OrderingKeySequencer, type Turn } from './ordering-key-sequencer.js';

describe('OrderingKeySequencer', () => {
  it('runs a key’s tasks one after another with the outcome before, other keys and keyless tasks at once, and forgets idle keys', async () => {
    const sequencer = new OrderingKeySequencer<string>();
    const started: string[] = [];
    const gates = new Map<string, Deferred<string>>();
    const task = (name: string) => (previous: string | undefined) => {
      started.push(`${name}<-${previous ?? '-'}`);
      const gate = deferred<string>();
      gates.set(name, gate);
      return gate.promise;
    };
    const a1 = sequencer.run('a', task('a1'));
    const a2 = sequencer.run('a', task('a2'));
    const b1 = sequencer.run('b', task('b1'));
    const free = sequencer.run('', task('free'));
    expect(started).toEqual(['a1<--', 'b1<--', 'free<--']);
    expect(sequencer.activeKeys()).toBe(2);

    gates.get('a1')!.resolve('nacked');
    await a1;
    await Promise.resolve();
    expect(started).toEqual(['a1<--', 'b1<--', 'free<--', 'a2<-nacked']);
    gates.get('a2')!.resolve('acked');
    gates.get('b1')!.resolve('acked');
    gates.get('free')!.resolve('acked');
    expect(await Promise.all([a2, b1, free])).toEqual(['acked', 'acked', 'acked']);
    await Promise.resolve();
    expect(sequencer.activeKeys()).toBe(0);

    // An idle key starts afresh: no outcome before.
    void sequencer.run('a', task('a3'));
    expect(started.at(-1)).toBe('a3<--');
    gates.get('a3')!.resolve('acked');
  });

  it('starts a key’s next task once the one before releases it, yet hands it that one’s outcome only through previousSettled', async () => {
    const sequencer = new OrderingKeySequencer<string>();
    const started: string[] = [];
    const gates = new Map<string, Deferred<string>>();
    const turns = new Map<string, Turn<string>>();
    const task = (name: string) => (previous: string | undefined, turn: Turn<string>) => {
      started.push(`${name}<-${previous ?? '-'}`);
      turns.set(name, turn);
      const gate = deferred<string>();
      gates.set(name, gate);
      return gate.promise;
    };
    const a1 = sequencer.run('a', task('a1'));
    const a2 = sequencer.run('a', task('a2'));
    const a3 = sequencer.run('a', task('a3'));
    expect(started).toEqual(['a1<--']);
    turns.get('a1')!.release();
    turns.get('a1')!.release(); // twice is once
    await settle();
    // a2 runs while a1 is unsettled: no outcome yet, only the promise of it.
    expect(started).toEqual(['a1<--', 'a2<--']);
    let a1Outcome: string | undefined = 'pending';
    void turns.get('a2')!.previousSettled.then((outcome) => (a1Outcome = outcome));
    await settle();
    expect(a1Outcome).toBe('pending');
    gates.get('a1')!.resolve('nacked');
    await a1;
    await settle();
    expect(a1Outcome).toBe('nacked');
    // a2 did not release: a3 starts at a2's settlement, with its outcome.
    expect(started).toHaveLength(2);
    gates.get('a2')!.resolve('acked');
    await a2;
    await settle();
    expect(started.at(-1)).toBe('a3<-acked');
    expect(await turns.get('a3')!.previousSettled).toBe('acked');
    expect(await turns.get('a1')!.previousSettled).toBeUndefined();
    gates.get('a3')!.resolve('acked');
    await a3;
    await settle();
    expect(sequencer.activeKeys()).toBe(0);
  });
});

/** Lets every queued promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
