import Database from 'better-sqlite3';
import { rmSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox, type OutboxOptions, type OutboxRecord } from './index.js';

const HOUR = 3_600_000;
const dirs: string[] = [];
const open: Outbox[] = [];
afterEach(() => {
  for (const outbox of open.splice(0)) outbox.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function openOutbox(overrides: Partial<OutboxOptions> & { path?: string } = {}) {
  let path = overrides.path;
  if (!path) {
    const dir = makeTestDataDir('outbox');
    dirs.push(dir);
    path = join(dir, 'outbox.sqlite');
  }
  const outbox = new Outbox({ maxBytes: 1_000_000, maxAgeMs: 24 * HOUR, clock: clock(), ...overrides, path });
  open.push(outbox);
  return { outbox, path };
}

const record = (machineId: string, windowStart: number, bytes = 100, revision = 0): OutboxRecord => ({
  machineId,
  windowStart,
  featureVersion: 1,
  revision,
  payload: new Uint8Array(bytes).fill(windowStart % 251),
});

describe('Outbox', () => {
  it('returns entries in append order and removes confirmed ones', () => {
    const { outbox } = openOutbox();
    const seqs = outbox.append([record('a', 0), record('b', 0), record('a', 10_000)]);
    expect(outbox.peek(0, 10).map((e) => [e.machineId, e.windowStart])).toEqual([
      ['a', 0],
      ['b', 0],
      ['a', 10_000],
    ]);
    expect(outbox.peek(seqs[0]!, 10)).toHaveLength(2);
    outbox.remove(seqs[1]!, 100);
    expect(outbox.peek(0, 10).map((e) => e.machineId)).toEqual(['a', 'a']);
    expect(outbox.stats()).toMatchObject({ depth: 2, bytes: 200 });
  });

  it('keeps every appended row across a close and reopen, with its payload bytes', () => {
    const { outbox, path } = openOutbox();
    outbox.append([record('a', 0, 10), record('a', 10_000, 20)]);
    outbox.close();
    open.pop();
    const { outbox: reopened } = openOutbox({ path });
    const entries = reopened.peek(0, 10);
    expect(entries.map((e) => e.payload.byteLength)).toEqual([10, 20]);
    expect(Array.from(entries[1]!.payload.slice(0, 3))).toEqual([10_000 % 251, 10_000 % 251, 10_000 % 251]);
    expect(reopened.stats()).toMatchObject({ depth: 2, bytes: 30 });
  });

  it('never lets one idempotency key stand for two contents: the same window is kept once, another is refused', () => {
    const conflicts: string[] = [];
    const { outbox } = openOutbox({ onConflict: (r) => conflicts.push(`${r.machineId}/${r.windowStart}/${r.revision}/${r.payload.byteLength}`) });
    const [seq] = outbox.append([record('a', 0, 100)]);
    expect(outbox.append([record('a', 0, 100)])).toEqual([seq]); // the same bytes: the same window, not a second row
    outbox.append([record('a', 0, 50)]); // other bytes under the same key: refused, the unpublished row stays
    outbox.append([record('a', 0, 70, 1)]); // a revision is a different key
    expect(outbox.peek(0, 10).map((e) => [e.revision, e.payload.byteLength])).toEqual([
      [0, 100],
      [1, 70],
    ]);
    expect(outbox.stats()).toMatchObject({ depth: 2, bytes: 170 });
    expect(conflicts).toEqual(['a/0/0/50']);
  });

  it('keeps the engine checkpoints in the same database, written with the windows they account for', () => {
    const { outbox, path } = openOutbox();
    outbox.append([record('a', 0, 10)], [{ machineId: 'a', state: 'state-1' }]);
    outbox.append([], [{ machineId: 'b', state: 'state-b' }]);
    outbox.append([record('a', 10_000, 10)], [{ machineId: 'a', state: 'state-2' }]);
    outbox.close();
    open.pop();
    const { outbox: reopened } = openOutbox({ path });
    expect(reopened.checkpointOf('a')).toBe('state-2');
    expect(reopened.checkpointOf('c')).toBeUndefined();
    expect(reopened.checkpoints().sort((x, y) => x.machineId.localeCompare(y.machineId))).toEqual([
      { machineId: 'a', state: 'state-2' },
      { machineId: 'b', state: 'state-b' },
    ]);
    expect(reopened.stats().depth).toBe(2);
  });

  it('writes neither the windows nor the checkpoints when their transaction fails', () => {
    const { outbox } = openOutbox();
    outbox.append([record('a', 0, 10)], [{ machineId: 'a', state: 'state-1' }]);
    // A NOT NULL violation inside the transaction (state null) rolls the whole append back.
    expect(() => outbox.append([record('a', 10_000, 10)], [{ machineId: 'a', state: null as unknown as string }])).toThrow();
    expect(outbox.checkpointOf('a')).toBe('state-1');
    expect(outbox.peek(0, 10).map((e) => e.windowStart)).toEqual([0]);
    expect(outbox.stats()).toMatchObject({ depth: 1, bytes: 10 });
  });

  it('forgets checkpoints not written since a time', () => {
    const c = clock();
    const { outbox } = openOutbox({ clock: c });
    outbox.append([], [{ machineId: 'old', state: 's' }]);
    c.advance(HOUR);
    outbox.append([], [{ machineId: 'new', state: 's' }]);
    expect(outbox.forgetCheckpointsBefore(c.now() - HOUR / 2)).toBe(1);
    expect(outbox.checkpoints().map((r) => r.machineId)).toEqual(['new']);
  });

  it('drops the oldest rows at the byte bound and counts every drop', () => {
    const drops: Array<[number, string]> = [];
    const { outbox } = openOutbox({ maxBytes: 1000, onDrop: (n, bound) => drops.push([n, bound]) });
    outbox.append(Array.from({ length: 10 }, (_, i) => record('a', i * 10_000, 100)));
    expect(drops).toEqual([]);
    outbox.append([record('a', 100_000, 250)]);
    const left = outbox.peek(0, 100);
    expect(left[0]!.windowStart).toBe(30_000); // 3 oldest rows made room for 250 bytes
    expect(outbox.stats()).toMatchObject({ depth: 8, bytes: 950, droppedTotal: 3 });
    expect(drops).toEqual([[3, 'bytes']]);
  });

  it('drops rows older than the age bound', () => {
    const c = clock();
    const drops: Array<[number, string]> = [];
    const { outbox } = openOutbox({ clock: c, maxAgeMs: HOUR, onDrop: (n, bound) => drops.push([n, bound]) });
    outbox.append([record('a', 0), record('b', 0)]);
    c.advance(HOUR / 2);
    outbox.append([record('a', 10_000)]);
    c.advance(HOUR / 2 + 1);
    outbox.enforceBounds();
    expect(outbox.peek(0, 10).map((e) => e.machineId)).toEqual(['a']);
    expect(drops).toEqual([[2, 'age']]);
  });

  it('reports depth, oldest age and the hours of outage it can still absorb', () => {
    const c = clock();
    const { outbox } = openOutbox({ clock: c, maxBytes: 1_000_000, maxAgeMs: 48 * HOUR });
    expect(outbox.stats().hoursOfOutageLeft).toBe(48); // idle: only the age bound applies
    // A steady 1000 bytes every 10 s = 100 B/s: 1 MB lasts about 2.8 h.
    for (let i = 0; i < 60; i++) {
      if (i > 0) c.advance(10_000);
      outbox.append([record('a', i * 10_000, 1000)]);
    }
    const stats = outbox.stats();
    expect(stats.depth).toBe(60);
    expect(stats.oldestAgeMs).toBe(590_000);
    expect(stats.appendRateBytesPerSec).toBeCloseTo(100, 0);
    expect(stats.hoursOfOutageLeft).toBeCloseTo((1_000_000 - 60_000) / 100 / 3600, 1);

    // When windows stop coming, the rate decays to nothing over five minutes and the age bound rules.
    c.advance(150_000);
    expect(outbox.stats().appendRateBytesPerSec).toBeCloseTo(50, 0);
    c.advance(150_000);
    expect(outbox.stats()).toMatchObject({ appendRateBytesPerSec: 0, hoursOfOutageLeft: 48 - (590_000 + 300_000) / HOUR });
  });

  it('counts the hours of outage left against the free space of its filesystem when that is smaller than maxBytes', () => {
    const c = clock();
    let free = 1_000_000_000;
    const { outbox } = openOutbox({ clock: c, maxBytes: 1_000_000, maxAgeMs: 48 * HOUR, freeBytes: () => free });
    // A steady 1000 bytes every 10 s = 100 B/s (as above).
    for (let i = 0; i < 60; i++) {
      if (i > 0) c.advance(10_000);
      outbox.append([record('a', i * 10_000, 1000)]);
    }
    const rate = outbox.stats().appendRateBytesPerSec;
    // A roomy disk: the bytes bound rules, 940,000 bytes left.
    expect(outbox.stats().hoursOfOutageLeft).toBeCloseTo(940_000 / rate / 3600, 9);
    // 36,000 bytes free on the disk: 360 s at 100 B/s, 0.1 h, although maxBytes has room for 2.6 h.
    free = 36_000;
    expect(rate).toBeCloseTo(100, 0);
    expect(outbox.stats().hoursOfOutageLeft).toBeCloseTo(36_000 / rate / 3600, 9);
    expect(outbox.stats().hoursOfOutageLeft).toBeCloseTo(0.1, 2);
    // A full disk: nothing left.
    free = 0;
    expect(outbox.stats().hoursOfOutageLeft).toBe(0);
  });

  it('reads the free space of the real filesystem by default', () => {
    const c = clock();
    const { outbox, path } = openOutbox({ clock: c, maxBytes: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.MAX_SAFE_INTEGER });
    for (let i = 0; i < 10; i++) {
      if (i > 0) c.advance(10_000);
      outbox.append([record('a', i * 10_000, 1000)]);
    }
    const { bavail, bsize } = statfsSync(dirname(path));
    const expected = (bavail * bsize) / outbox.stats().appendRateBytesPerSec / 3600;
    // The disk's free space moves a little as the test runs (SQLite's own writes among others).
    expect(outbox.stats().hoursOfOutageLeft / expected).toBeCloseTo(1, 2);
  });

  it('keeps running when a delete fails, and deletes the confirmed rows on a later attempt', async () => {
    const errors: string[] = [];
    const { outbox, path } = openOutbox({ onError: (operation, error) => errors.push(`${operation}: ${error.message}`) });
    const [first, second] = outbox.append([record('a', 0), record('a', 10_000)]);
    // Another process holds the write lock (an operator's sqlite3 shell, say): deletes fail as on a
    // full disk, after better-sqlite3's busy timeout.
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    outbox.remove(first!, 100);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([expect.stringMatching(/^remove_confirmed: database is locked/)]);
    // The confirmed row is not published again while its delete is pending.
    expect(outbox.peek(0, 10).map((e) => e.seq)).toEqual([second]);
    other.exec('ROLLBACK');
    other.close();

    expect(outbox.stats()).toMatchObject({ depth: 1, bytes: 100 }); // the retry deleted it
    expect(errors).toHaveLength(1);
    outbox.close();
    expect(openOutbox({ path }).outbox.peek(0, 10).map((e) => e.seq)).toEqual([second]);
  });

  it('counts nothing of an append that failed and rolled back', () => {
    const { outbox } = openOutbox();
    outbox.append([record('a', 0)]);
    // The second row fails inside the transaction (as a commit fails on a full disk): none is kept.
    const broken = { ...record('a', 20_000), payload: undefined as unknown as Uint8Array };
    expect(() => outbox.append([record('a', 10_000), broken])).toThrow();
    expect(outbox.stats()).toMatchObject({ depth: 1, bytes: 100 });
    expect(outbox.peek(0, 10).map((e) => e.windowStart)).toEqual([0]);
  });

  it('ignores the removal of a row that was already dropped', () => {
    const { outbox } = openOutbox({ maxBytes: 100 });
    const [first] = outbox.append([record('a', 0, 100)]);
    outbox.append([record('a', 10_000, 100)]);
    outbox.remove(first!, 100);
    expect(outbox.stats()).toMatchObject({ depth: 1, bytes: 100 });
  });
});
