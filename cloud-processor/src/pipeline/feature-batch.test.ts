import { FeatureBatchSchema, encodeFeatureBatchOf, encodeMachineWindow, pubsubAttributes, type FeatureBatch, type MachineWindow } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { TransientError } from '../shared/transient-error.js';
import { deferred, type Deferred } from '../test-support/deferred.js';
import { makeWindow } from '../test-support/windows.js';
import { UndecodableMessageError, UnusableMessageError } from '../transport/poison-message.js';
import { ProtobufDeserializer, undecodableWindowsOf } from '../transport/protobuf-deserializer.js';
import { handleBatchWindows } from './feature-batch.js';
import { EarlierWindowFailedError, MachineLanes } from './machine-lanes.js';

const label = (w: MachineWindow) => `${w.machineId}/${(Number(w.windowStart) - Number(makeWindow().windowStart)) / 10_000}.${w.revision}`;

/** A window handler whose every call waits until the test settles it by label. */
class HeldHandler {
  readonly started: string[] = [];
  private readonly held = new Map<string, Deferred>();
  private readonly lanes = new MachineLanes();

  /** As the pipeline hands windows on: through a queue per machine (the batch's message is never settled here). */
  readonly handleInLanes = (window: MachineWindow): Promise<void> => this.lanes.run(window.machineId, () => this.handle(window), new Promise(() => undefined));

  readonly handle = (window: MachineWindow): Promise<void> => {
    const d = deferred();
    this.started.push(label(window));
    this.held.set(label(window), d);
    return d.promise;
  };

  resolve(name: string): void {
    this.take(name).resolve();
  }

  reject(name: string, error: unknown): void {
    this.take(name).reject(error);
  }

  private take(name: string): Deferred {
    const d = this.held.get(name);
    if (!d) throw new Error(`${name} was not started (started: ${this.started.join(', ')})`);
    this.held.delete(name);
    return d;
  }
}

/** Lets every settled promise's reactions run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A promise's state after the reactions due now ran. */
async function stateOf(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await settle();
  return state;
}

describe('handleBatchWindows', () => {
  const batch = [
    makeWindow({ machine: 'pump-1', index: 0 }),
    makeWindow({ machine: 'pump-2', index: 0 }),
    makeWindow({ machine: 'pump-1', index: 0, revision: 1 }),
    makeWindow({ machine: 'pump-1', index: 1 }),
    makeWindow({ machine: 'pump-3', index: 0 }),
  ];

  it('handles one machine’s windows one after another in batch order, machines side by side, and resolves once all are done', async () => {
    const h = new HeldHandler();
    const done = handleBatchWindows(batch, h.handleInLanes);
    await settle();
    expect(h.started).toEqual(['pump-1/0.0', 'pump-2/0.0', 'pump-3/0.0']);
    h.resolve('pump-1/0.0');
    await settle();
    expect(h.started.slice(3)).toEqual(['pump-1/0.1']);
    h.resolve('pump-2/0.0');
    h.resolve('pump-3/0.0');
    h.resolve('pump-1/0.1');
    await settle();
    expect(h.started.slice(4)).toEqual(['pump-1/1.0']);
    expect(await stateOf(done)).toBe('pending');
    h.resolve('pump-1/1.0');
    expect(await stateOf(done)).toBe('resolved');
  });

  it('skips a window that can never be used and goes on with its machine’s next one', async () => {
    const h = new HeldHandler();
    const done = handleBatchWindows(batch, h.handleInLanes);
    await settle();
    h.reject('pump-1/0.0', new UnusableMessageError('unusable MachineWindow: test'));
    h.resolve('pump-2/0.0');
    h.resolve('pump-3/0.0');
    await settle();
    h.resolve('pump-1/0.1');
    await settle();
    h.resolve('pump-1/1.0');
    await expect(done).resolves.toBeUndefined();
    expect(h.started).toHaveLength(5);
  });

  it('after a failure, starts none of that machine’s later windows, lets the other machines finish, then rejects with it', async () => {
    const h = new HeldHandler();
    const done = handleBatchWindows(batch, h.handleInLanes);
    await settle();
    const failure = new Error('scorer failed');
    h.reject('pump-1/0.0', failure);
    h.resolve('pump-3/0.0');
    await settle();
    expect(h.started).toEqual(['pump-1/0.0', 'pump-2/0.0', 'pump-3/0.0']);
    expect(await stateOf(done)).toBe('pending'); // pump-2 is still being stored
    h.resolve('pump-2/0.0');
    await expect(done).rejects.toBe(failure);
    expect(h.started).toHaveLength(3);
  });

  it('reports a transient failure over any other, so the batch is held back as in an outage, not counted towards dead-lettering', async () => {
    const h = new HeldHandler();
    const done = handleBatchWindows(batch, h.handleInLanes);
    await settle();
    const outage = new TransientError('InfluxDB write failed: connect ECONNREFUSED');
    h.reject('pump-1/0.0', new Error('scorer failed'));
    h.reject('pump-2/0.0', outage);
    h.resolve('pump-3/0.0');
    await expect(done).rejects.toBe(outage);
  });

  it('reports a failure of its own over a refusal behind an earlier failure, so a failing batch counts towards dead-lettering', async () => {
    const h = new HeldHandler();
    const done = handleBatchWindows(batch, h.handleInLanes);
    await settle();
    const own = new Error('scorer failed');
    h.reject('pump-1/0.0', new EarlierWindowFailedError('pump-1'));
    h.reject('pump-2/0.0', own);
    h.resolve('pump-3/0.0');
    await expect(done).rejects.toBe(own);
  });

  it('hands every window on at once, so the key is released while the first is still being stored', () => {
    const h = new HeldHandler();
    void handleBatchWindows(batch, h.handle);
    expect(h.started).toEqual(['pump-1/0.0', 'pump-2/0.0', 'pump-1/0.1', 'pump-1/1.0', 'pump-3/0.0']);
  });

  describe('a batch with a window that did not decode', () => {
    const source = { gatewayId: 'gw-1', siteId: 'plant-1' };
    const undecodable = Uint8Array.from([0x0a, 2, 0xc3, 0x28]); // gateway_id: invalid UTF-8
    /** The windows of `batch` and the undecodable window, as the transport's deserializer hands them on. */
    const decoded = () => {
      const body = encodeFeatureBatchOf({ ...source, shard: 0 }, [...batch.slice(0, 2).map((w) => encodeMachineWindow(w)), undecodable, ...batch.slice(2).map((w) => encodeMachineWindow(w))]);
      const data = new ProtobufDeserializer([FeatureBatchSchema]).deserialize({ data: body, attributes: pubsubAttributes(FeatureBatchSchema, source) }).data as FeatureBatch;
      return [data.windows, undecodableWindowsOf(data)] as const;
    };

    it('stores every other window, then rejects with why, naming the window', async () => {
      const h = new HeldHandler();
      const [windows, undecodable] = decoded();
      const done = handleBatchWindows(windows, h.handleInLanes, undecodable);
      await settle();
      h.resolve('pump-1/0.0');
      h.resolve('pump-2/0.0');
      h.resolve('pump-3/0.0');
      await settle();
      h.resolve('pump-1/0.1');
      await settle();
      expect(await stateOf(done)).toBe('pending'); // pump-1/1.0 is still being stored
      h.resolve('pump-1/1.0');
      const why = await done.then(() => undefined, (error: unknown) => error);
      expect(why).toBeInstanceOf(UndecodableMessageError);
      expect((why as UndecodableMessageError).reason).toBe('undecodable');
      expect((why as Error).message).toMatch(/^1 of 6 windows are not a valid pdm\.v1\.MachineWindow .*: windows\[2\] at body bytes \[\d+, \d+\): /);
      expect(h.started).toHaveLength(5);
    });

    it('reports a failure of another window first, so the batch is nacked and handled again, not dead-lettered with a window unstored', async () => {
      const h = new HeldHandler();
      const [windows, undecodable] = decoded();
      const done = handleBatchWindows(windows, h.handleInLanes, undecodable);
      await settle();
      const failure = new Error('scorer failed');
      h.reject('pump-2/0.0', failure);
      h.resolve('pump-1/0.0');
      h.resolve('pump-3/0.0');
      await settle();
      h.resolve('pump-1/0.1');
      await settle();
      h.resolve('pump-1/1.0');
      await expect(done).rejects.toBe(failure);
    });
  });

  it('resolves at once for an empty batch', async () => {
    const h = new HeldHandler();
    await expect(handleBatchWindows([], h.handle)).resolves.toBeUndefined();
    expect(h.started).toEqual([]);
  });
});
