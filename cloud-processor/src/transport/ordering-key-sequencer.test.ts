import { describe, expect, it } from 'vitest';
import { deferred, type Deferred } from '../test-support/deferred.js';
import { OrderingKeySequencer } from './ordering-key-sequencer.js';

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
});
