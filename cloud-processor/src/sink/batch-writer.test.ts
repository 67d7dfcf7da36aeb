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

  it('rejects every caller of a failed batch', async () => {
    const clock = new ManualClock();
    const writer = new BatchWriter(() => Promise.reject(new Error('influx down')), { maxPoints: 2, maxDelayMs: 1_000 }, clock);
    const results = await Promise.allSettled([writer.add([point(1)]), writer.add([point(2)])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
