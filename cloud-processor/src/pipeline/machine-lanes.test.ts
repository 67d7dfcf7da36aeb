import { describe, expect, it } from 'vitest';
import { deferred, type Deferred } from '../test-support/deferred.js';
import { UnusableMessageError } from '../transport/poison-message.js';
import { EarlierWindowFailedError, MachineLanes } from './machine-lanes.js';

/** Lets every queued promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Work items the test finishes by hand, named; `started` lists them in the order they began. */
class HeldWork {
  started: string[] = [];
  private readonly gates = new Map<string, Deferred>();
  work = (name: string) => () => {
    this.started.push(name);
    const gate = deferred();
    this.gates.set(name, gate);
    return gate.promise;
  };
  resolve(name: string): void {
    this.gates.get(name)!.resolve();
  }
  reject(name: string, error: unknown): void {
    this.gates.get(name)!.reject(error);
  }
}

describe('MachineLanes', () => {
  it('runs a machine’s windows one after another in the order handed in, machines side by side, and forgets idle machines', async () => {
    const lanes = new MachineLanes();
    const h = new HeldWork();
    const open = Promise.resolve();
    const a1 = lanes.run('a', h.work('a1'), open);
    const b1 = lanes.run('b', h.work('b1'), open);
    const a2 = lanes.run('a', h.work('a2'), open);
    await settle();
    expect(h.started).toEqual(['a1', 'b1']);
    h.resolve('a1');
    await a1;
    await settle();
    expect(h.started).toEqual(['a1', 'b1', 'a2']);
    h.resolve('a2');
    h.resolve('b1');
    await Promise.all([a2, b1]);
    await settle();
    expect(lanes.activeMachines).toBe(0);
  });

  it('goes on past a window that can never be used', async () => {
    const lanes = new MachineLanes();
    const h = new HeldWork();
    const first = lanes.run('a', h.work('a1'), Promise.resolve());
    const second = lanes.run('a', h.work('a2'), Promise.resolve());
    await settle();
    const unusable = new UnusableMessageError('unusable MachineWindow: test');
    h.reject('a1', unusable);
    await expect(first).rejects.toBe(unusable);
    await settle();
    h.resolve('a2');
    await expect(second).resolves.toBeUndefined();
    expect(h.started).toEqual(['a1', 'a2']);
  });

  it('after a failure, refuses the machine’s windows queued behind it and those handed in until its message is settled, then runs them again', async () => {
    const lanes = new MachineLanes();
    const h = new HeldWork();
    const failedMessage = deferred();
    const failing = lanes.run('a', h.work('a1'), failedMessage.promise);
    const behind = lanes.run('a', h.work('a2'), Promise.resolve());
    const other = lanes.run('b', h.work('b1'), Promise.resolve());
    await settle();
    const failure = new Error('InfluxDB refused the points');
    h.reject('a1', failure);
    await expect(failing).rejects.toBe(failure);
    await expect(behind).rejects.toBeInstanceOf(EarlierWindowFailedError);
    // Handed in after the lane emptied, while the failed window's message is still open: refused too.
    await expect(lanes.run('a', h.work('a3'), Promise.resolve())).rejects.toThrow(/an earlier window of machine "a" failed/);
    expect(h.started).toEqual(['a1', 'b1']);
    failedMessage.resolve(); // nacked: its redelivery comes next
    await settle();
    const redelivered = lanes.run('a', h.work('a1 again'), Promise.resolve());
    await settle();
    h.resolve('a1 again');
    await expect(redelivered).resolves.toBeUndefined();
    h.resolve('b1');
    await other;
    await settle();
    expect(h.started).toEqual(['a1', 'b1', 'a1 again']);
    expect(lanes.activeMachines).toBe(0);
  });
});
