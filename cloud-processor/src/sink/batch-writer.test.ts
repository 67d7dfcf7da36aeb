import type { IPoint } from 'influx';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '@pdm/clock';
import { BatchWriter } from './batch-writer.js';

const point = (i: number): IPoint => ({ measurement: 'm', fields: { v: i }, timestamp: i });

describe('BatchWriter', () => {
  it('holds points until the delay bound, then writes them as one batch and resolves every caller', async () => {
    const clock = new ManualClock();
    const writes: number[] = [];
    const writer = new BatchWriter((points) => (writes.push(points.length), Promise.resolve()), { maxPoints: 100, maxDelayMs: 50 }, clock);
    const settled: number[] = [];
    const a = writer.add([point(1), point(2)]).then(() => settled.push(1));
    const b = writer.add([point(3)]).then(() => settled.push(2));
    clock.advance(49);
    await Promise.resolve();
    expect(writes).toEqual([]);
    expect(writer.pendingPoints()).toBe(3);
    clock.advance(1);
    await Promise.all([a, b]);
    expect(writes).toEqual([3]);
    expect(settled.sort()).toEqual([1, 2]);
  });

  it('writes at once when the size bound is reached', async () => {
    const clock = new ManualClock();
    const writes: number[] = [];
    const writer = new BatchWriter((points) => (writes.push(points.length), Promise.resolve()), { maxPoints: 3, maxDelayMs: 1_000 }, clock);
    await Promise.all([writer.add([point(1), point(2)]), writer.add([point(3)])]);
    expect(writes).toEqual([3]);
  });

  it('starts a new batch with points that would take the current one past the size bound', async () => {
    const clock = new ManualClock();
    const writes: number[][] = [];
    const writer = new BatchWriter((points: IPoint[]) => (writes.push(points.map((p) => p.timestamp as number)), Promise.resolve()), { maxPoints: 5, maxDelayMs: 1_000 }, clock);
    const added = [writer.add([point(1), point(2), point(3)]), writer.add([point(4), point(5), point(6)]), writer.add([point(7), point(8), point(9), point(10), point(11), point(12)])];
    await writer.flush();
    await Promise.all(added);
    // One message larger than the bound is a batch of its own (the sink splits it into requests).
    expect(writes).toEqual([[1, 2, 3], [4, 5, 6], [7, 8, 9, 10, 11, 12]]);
  });

  it('rejects every caller of a failed batch', async () => {
    const clock = new ManualClock();
    const writer = new BatchWriter(() => Promise.reject(new Error('influx down')), { maxPoints: 2, maxDelayMs: 1_000 }, clock);
    const results = await Promise.allSettled([writer.add([point(1)]), writer.add([point(2)])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('writes a batch refused for some points again add by add: only the adds that brought them fail', async () => {
    const clock = new ManualClock();
    const writes: number[][] = [];
    class Refused extends Error {}
    // Refuses any request holding point 13 (stored the rest, as a partial write does); a plain failure otherwise.
    const write = (points: IPoint[]) => {
      writes.push(points.map((p) => p.timestamp as number));
      return points.some((p) => p.timestamp === 13) ? Promise.reject(new Refused('partial write')) : Promise.resolve();
    };
    const writer = new BatchWriter(write, { maxPoints: 5, maxDelayMs: 1_000, refusedPoints: (error) => error instanceof Refused }, clock);
    const results = await Promise.allSettled([writer.add([point(11), point(12)]), writer.add([point(13)]), writer.add([point(14), point(15)])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(writes).toEqual([[11, 12, 13, 14, 15], [11, 12], [13], [14, 15]]);
    // Any other failure still fails every add of its batch, with no request per add.
    const down = new BatchWriter(() => Promise.reject(new Error('influx down')), { maxPoints: 2, maxDelayMs: 1_000, refusedPoints: (error) => error instanceof Refused }, clock);
    expect((await Promise.allSettled([down.add([point(1)]), down.add([point(2)])])).map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  /** A write function whose writes finish when the test says so. */
  function heldWrites() {
    const writes: { points: number[]; finish(): void; fail(error: Error): void }[] = [];
    const write = (points: IPoint[]) =>
      new Promise<void>((resolve, reject) => writes.push({ points: points.map((p) => p.timestamp as number), finish: resolve, fail: reject }));
    return { writes, write };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('writes one batch at a time: a batch due during a write waits for it, then goes out as soon as it finishes', async () => {
    const clock = new ManualClock();
    const { writes, write } = heldWrites();
    const writer = new BatchWriter(write, { maxPoints: 100, maxDelayMs: 50 }, clock);
    const first = writer.add([point(1)]);
    clock.advance(50);
    expect(writes.map((w) => w.points)).toEqual([[1]]);
    const second = writer.add([point(2)]);
    clock.advance(50); // due, but the first write is in progress
    await settle();
    expect(writes.map((w) => w.points)).toEqual([[1]]);
    expect(writer.pendingPoints()).toBe(1);
    writes[0]!.finish();
    await first;
    await settle();
    expect(writes.map((w) => w.points)).toEqual([[1], [2]]);
    writes[1]!.finish();
    await second;
  });

  it('sends what accumulated during a write when it finishes, without waiting out its delay', async () => {
    const clock = new ManualClock();
    const { writes, write } = heldWrites();
    const writer = new BatchWriter(write, { maxPoints: 100, maxDelayMs: 50 }, clock);
    const failed = writer.add([point(1)]);
    clock.advance(50);
    const later = writer.add([point(2), point(3)]); // its delay has not run out
    writes[0]!.fail(new Error('influx down')); // a failed write frees the connection too
    await expect(failed).rejects.toThrow('influx down');
    await settle();
    expect(writes.map((w) => w.points)).toEqual([[1], [2, 3]]);
    writes[1]!.finish();
    await later;
  });

  it('queues batches that fill during a write and sends them in order, one at a time; flush waits for all of them', async () => {
    const clock = new ManualClock();
    const { writes, write } = heldWrites();
    const writer = new BatchWriter(write, { maxPoints: 2, maxDelayMs: 1_000 }, clock);
    const added = [writer.add([point(1), point(2)]), writer.add([point(3), point(4)]), writer.add([point(5)])];
    let flushed = false;
    const flushing = writer.flush().then(() => (flushed = true));
    for (let i = 0; i < 3; i++) {
      await settle();
      expect(writes.map((w) => w.points)).toEqual([[1, 2], [3, 4], [5]].slice(0, i + 1));
      expect(flushed).toBe(false);
      writes[i]!.finish();
    }
    await flushing;
    await Promise.all(added);
  });

  it('sends everything that arrived during a write as the next request (up to maxPoints), so a slow write does not leave a backlog', async () => {
    // 10 points per ms arrive; each write takes 100 ms. The first batch goes out when its delay runs out
    // (the 200 points of ms 0-19); every later request holds the 1,000 points of the 100 ms of the write
    // before it. Left after 400 ms: the 800 points of ms 320-399, the fourth write being in progress.
    const clock = new ManualClock();
    const { writes, write } = heldWrites();
    const writer = new BatchWriter(write, { maxPoints: 5_000, maxDelayMs: 20 }, clock);
    const started: number[] = [];
    const added: Promise<void>[] = [];
    let next = 0;
    for (let ms = 0; ms < 400; ms++) {
      for (let i = 0; i < 10; i++) added.push(writer.add([point(next++)]));
      clock.advance(1);
      while (started.length < writes.length) started.push(clock.now());
      const last = writes.length - 1;
      if (last >= 0 && clock.now() - started[last]! === 100) {
        writes[last]!.finish();
        await settle();
        while (started.length < writes.length) started.push(clock.now());
      }
    }
    expect(writes.map((w) => w.points.length)).toEqual([200, 1_000, 1_000, 1_000]);
    expect(writes.flatMap((w) => w.points)).toEqual(Array.from({ length: 3_200 }, (_, i) => i));
    expect(writer.pendingPoints()).toBe(800);
    writes[3]!.finish();
    const flushing = writer.flush();
    await settle();
    expect(writes.map((w) => w.points.length)).toEqual([200, 1_000, 1_000, 1_000, 800]);
    writes[4]!.finish();
    await flushing;
    await Promise.all(added);
  });

  it('splits what arrived during a write into requests of maxPoints, oldest first, however long it waited', async () => {
    const clock = new ManualClock();
    const { writes, write } = heldWrites();
    const writer = new BatchWriter(write, { maxPoints: 4, maxDelayMs: 10 }, clock);
    const added = [writer.add([point(0)])];
    clock.advance(10);
    for (let i = 1; i <= 9; i++) {
      added.push(writer.add([point(i)]));
      clock.advance(5); // past the delay, but the first write is in progress
    }
    expect(writes.map((w) => w.points)).toEqual([[0]]);
    expect(writer.pendingPoints()).toBe(9);
    for (let i = 0; i < 3; i++) {
      writes[i]!.finish();
      await settle();
    }
    expect(writes.map((w) => w.points)).toEqual([[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]);
    writes[3]!.finish();
    await writer.flush();
    await Promise.all(added);
  });

  it('settles every message merged into a request during a write only with that request, rejecting all if it fails', async () => {
    const clock = new ManualClock();
    const { writes, write } = heldWrites();
    const writer = new BatchWriter(write, { maxPoints: 100, maxDelayMs: 10 }, clock);
    const first = writer.add([point(0)]);
    clock.advance(10);
    const settled: string[] = [];
    const merged = [1, 2, 3].map((i) => {
      const added = writer.add([point(i)]);
      clock.advance(10);
      added.then(() => settled.push(`${i} stored`), () => settled.push(`${i} failed`));
      return added;
    });
    writes[0]!.finish();
    await first;
    await settle();
    expect(writes.map((w) => w.points)).toEqual([[0], [1, 2, 3]]);
    expect(settled).toEqual([]);
    writes[1]!.fail(new Error('influx down'));
    const results = await Promise.allSettled(merged);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(settled.sort()).toEqual(['1 failed', '2 failed', '3 failed']);
    await writer.flush();
  });
});
