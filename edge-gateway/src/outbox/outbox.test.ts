import Database from 'better-sqlite3';
import { rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/index.js';
import type { CheckpointRecord, StoredCheckpoint } from '../window/index.js';
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

/**
 * A checkpoint record writing header `header` (as text) and pane rows given as 'start:n' (the stats
 * are n as one byte: the outbox stores bytes, it does not read them).
 */
function checkpoint(machineId: string, header: string, panes: string[], drop: Partial<Pick<CheckpointRecord, 'dropAll' | 'dropBefore'>> = {}): CheckpointRecord {
  return {
    machineId,
    header: Buffer.from(header),
    panes: panes.map((p) => {
      const [start, n] = p.split(':').map(Number);
      return { paneStart: start!, stats: new Uint8Array([n!]) };
    }),
    dropAll: drop.dropAll ?? false,
    dropBefore: drop.dropBefore,
  };
}

/** A stored checkpoint as [machine, header text, pane rows as 'start:n', by start]. */
const stored = (c: StoredCheckpoint | undefined): [string, string, string[]] => [
  c!.machineId,
  Buffer.from(c!.header).toString(),
  [...c!.panes].sort((a, b) => a.paneStart - b.paneStart).map((p) => `${p.paneStart}:${p.stats[0]}`),
];

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
    outbox.remove(seqs[1]!);
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
    outbox.append([record('a', 0, 10)], [checkpoint('a', 'h1', ['0:1', '10:1'], { dropAll: true })]);
    outbox.append([], [checkpoint('b', 'hb', ['0:1'])]);
    // Only what changed: a new pane row and a changed one; the rest of a's rows stay.
    outbox.append([record('a', 10_000, 10)], [checkpoint('a', 'h2', ['10:2', '20:1'])]);
    outbox.close();
    open.pop();
    const { outbox: reopened } = openOutbox({ path });
    expect(stored(reopened.checkpointOf('a'))).toEqual(['a', 'h2', ['0:1', '10:2', '20:1']]);
    expect(reopened.checkpointOf('c')).toBeUndefined();
    expect(reopened.checkpoints().map(stored).sort()).toEqual([
      ['a', 'h2', ['0:1', '10:2', '20:1']],
      ['b', 'hb', ['0:1']],
    ]);
    expect(reopened.checkpointCount()).toBe(2);
    expect(reopened.stats().depth).toBe(2);
  });

  it('drops the pane rows a checkpoint says are gone: all of them, or those before a start', () => {
    const { outbox } = openOutbox();
    const rows = ['0:1', '10:1', '20:1'];
    outbox.append([], [checkpoint('a', 'h', rows), checkpoint('b', 'h', rows)]);
    outbox.append([], [checkpoint('a', 'h', ['30:1'], { dropBefore: 20 })]);
    expect(stored(outbox.checkpointOf('a'))[2]).toEqual(['20:1', '30:1']);
    outbox.append([], [checkpoint('a', 'h', ['40:1'], { dropAll: true })]);
    expect(stored(outbox.checkpointOf('a'))[2]).toEqual(['40:1']);
    expect(stored(outbox.checkpointOf('b'))[2]).toEqual(rows); // another machine's rows are untouched
  });

  it('writes neither the windows nor the checkpoints when their transaction fails', () => {
    const { outbox } = openOutbox();
    outbox.append([record('a', 0, 10)], [checkpoint('a', 'h1', ['0:1'])]);
    // A NOT NULL violation inside the transaction (a null header) rolls the whole append back.
    const broken = { ...checkpoint('a', 'h2', ['0:2']), header: null as unknown as Uint8Array };
    expect(() => outbox.append([record('a', 10_000, 10)], [broken])).toThrow();
    expect(stored(outbox.checkpointOf('a'))).toEqual(['a', 'h1', ['0:1']]);
    expect(outbox.peek(0, 10).map((e) => e.windowStart)).toEqual([0]);
    expect(outbox.stats()).toMatchObject({ depth: 1, bytes: 10 });
    expect(outbox.checkpointCount()).toBe(1);
  });

  it('forgets checkpoints not written since a time, with their panes, and lists those written since a time', () => {
    const c = clock();
    const { outbox } = openOutbox({ clock: c });
    outbox.append([], [checkpoint('old', 'h', ['0:1'])]);
    c.advance(HOUR);
    outbox.append([], [checkpoint('new', 'h', ['0:1'])]);
    expect(outbox.checkpoints(c.now() - HOUR / 2).map((r) => r.machineId)).toEqual(['new']);
    expect(outbox.checkpoints(c.now() - HOUR).map((r) => r.machineId)).toEqual(['new', 'old']); // newest first
    expect(outbox.forgetCheckpointsBefore(c.now() - HOUR / 2)).toBe(1);
    expect(outbox.checkpoints().map((r) => r.machineId)).toEqual(['new']);
    outbox.append([], [checkpoint('old', 'h', [])]); // written again: no pane row of before is left
    expect(stored(outbox.checkpointOf('old'))[2]).toEqual([]);
  });

  it('reports a failure to forget checkpoints instead of throwing, and forgets them at the next attempt', () => {
    const c = clock();
    const errors: string[] = [];
    const { outbox, path } = openOutbox({ clock: c, onError: (operation, error) => errors.push(`${operation}: ${error.message}`) });
    outbox.append([], [checkpoint('old', 'h', ['0:1'])]);
    c.advance(HOUR);
    // Another process holds the write lock: the delete fails as on a full disk (the timer calling this has no catch).
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    expect(outbox.forgetCheckpointsBefore(c.now() - HOUR / 2)).toBe(0);
    expect(outbox.boundCheckpoints(0, c.now() - HOUR / 2)).toBe(0);
    expect(errors).toEqual([expect.stringMatching(/^forget_checkpoints: database is locked/), expect.stringMatching(/^forget_checkpoints: database is locked/)]);
    other.exec('ROLLBACK');
    other.close();
    expect(outbox.forgetCheckpointsBefore(c.now() - HOUR / 2)).toBe(1);
    expect(outbox.checkpointCount()).toBe(0);
  });

  it('keeps at most maxMachines checkpoints: the oldest of those not written since a time go first', () => {
    const c = clock();
    const { outbox } = openOutbox({ clock: c });
    for (const id of ['m1', 'm2', 'm3', 'm4']) {
      outbox.append([], [checkpoint(id, 'h', ['0:1'])]);
      c.advance(60_000);
    }
    outbox.append([], [checkpoint('m1', 'h', ['10:1'])]); // m1 written last now: m2 is the oldest
    expect(outbox.boundCheckpoints(10, c.now())).toBe(0);
    // Beyond 2: m2 and m3 go; written within the last 90 s (held by the engine), m4 would stay.
    expect(outbox.boundCheckpoints(2, c.now() - 90_000)).toBe(2);
    expect(outbox.checkpoints().map((r) => r.machineId)).toEqual(['m1', 'm4']);
    expect(outbox.boundCheckpoints(1, c.now() - 90_000)).toBe(0); // m4 and m1 are recent
    expect(outbox.checkpointCount()).toBe(2);
    expect(outbox.checkpointOf('m2')).toBeUndefined();
  });

  it('refuses a checkpoint table of version 1 (one JSON text per machine): dropped and counted, never read', () => {
    const dir = makeTestDataDir('outbox');
    dirs.push(dir);
    const path = join(dir, 'outbox.sqlite');
    const v1 = new Database(path);
    v1.exec('CREATE TABLE checkpoint (machine_id TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, state TEXT NOT NULL)');
    v1.prepare('INSERT INTO checkpoint VALUES (?, ?, ?)').run('m1', 1, '{"version":1}');
    v1.prepare('INSERT INTO checkpoint VALUES (?, ?, ?)').run('m2', 1, '{"version":1}');
    v1.close();
    const { outbox } = openOutbox({ path });
    expect(outbox.refusedCheckpoints).toBe(2);
    expect(outbox.checkpoints()).toEqual([]);
    outbox.close();
    open.pop();
    expect(openOutbox({ path }).outbox.refusedCheckpoints).toBe(0);
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
    c.advance(HOUR); // every row now past the bound
    outbox.enforceBounds();
    expect(outbox.stats().depth).toBe(0);
    expect(drops).toEqual([[2, 'age'], [1, 'age']]);
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

  it('refuses a path under a regular file with a ConfigError naming outbox.path, not a bare EEXIST', () => {
    const dir = makeTestDataDir('outbox');
    dirs.push(dir);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    for (const path of [join(file, 'outbox.sqlite'), join(file, 'sub', 'outbox.sqlite')]) {
      expect(() => openOutbox({ path })).toThrow(ConfigError);
      expect(() => openOutbox({ path })).toThrow(`outbox.path ${path}: cannot create its folder: ${file} is not a folder`);
    }
  });

  it('creates the missing folders of its path, each level', () => {
    const dir = makeTestDataDir('outbox');
    dirs.push(dir);
    const path = join(dir, 'a', 'b', 'outbox.sqlite');
    const { outbox } = openOutbox({ path });
    outbox.append([record('a', 0)]);
    expect(statSync(join(dir, 'a', 'b')).isDirectory()).toBe(true);
    expect(outbox.peek(0, 10).map((e) => e.windowStart)).toEqual([0]);
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

  it('commits the delete of confirmed rows in the next turn of the event loop: a gateway killed after it sends none of them again', async () => {
    const { outbox, path } = openOutbox();
    const seqs = outbox.append([record('a', 0), record('b', 0), record('a', 10_000)]);
    // The windows of one FeatureBatch are confirmed together.
    for (const seq of seqs.slice(0, 2)) outbox.remove(seq);
    await new Promise((resolve) => setImmediate(resolve));
    // The file as a gateway started after a SIGKILL now would find it (this one never closed).
    const reader = new Database(path, { readonly: true });
    const rows = reader.prepare('SELECT machine_id, window_start FROM outbox ORDER BY seq').all();
    reader.close();
    expect(rows).toEqual([{ machine_id: 'a', window_start: 10_000 }]);
  });

  it('keeps running when a delete fails, and deletes the confirmed rows on a later attempt', async () => {
    const errors: string[] = [];
    const { outbox, path } = openOutbox({ onError: (operation, error) => errors.push(`${operation}: ${error.message}`) });
    const [first, second] = outbox.append([record('a', 0), record('a', 10_000)]);
    // Another process holds the write lock (an operator's sqlite3 shell, say): deletes fail as on a
    // full disk, after better-sqlite3's busy timeout.
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    outbox.remove(first!);
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

  it('reads the rows it appended from memory exactly as the file holds them: after confirmations, drops, a failed append, and past its memory bound', async () => {
    const c = clock();
    const { outbox, path } = openOutbox({ clock: c, maxBytes: 1_000, recentMaxBytes: 1_500 });
    const reader = new Database(path, { readonly: true });
    const select = reader.prepare('SELECT seq, machine_id, window_start, feature_version, revision, created_at, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?');
    /** Every peek (each start, a few limits) against the same read of the file by another connection. */
    const expectPeeksMatchTheFile = () => {
      const all = select.all(0, 1_000) as Array<{ seq: number }>;
      for (const after of [0, ...all.map((row) => row.seq)]) {
        for (const limit of [1, 2, 1_000]) {
          const rows = (select.all(after, limit) as Array<Record<string, unknown>>).map((row) => ({
            seq: row.seq,
            machineId: row.machine_id,
            windowStart: row.window_start,
            featureVersion: row.feature_version,
            revision: row.revision,
            createdAt: row.created_at,
            payload: row.payload,
          }));
          expect(outbox.peek(after, limit)).toEqual(rows);
        }
      }
      return all.length;
    };
    try {
      const seqs = outbox.append([record('a', 0), record('b', 0), record('a', 10_000)]);
      expect(expectPeeksMatchTheFile()).toBe(3);
      outbox.remove(seqs[1]!);
      await new Promise((resolve) => setImmediate(resolve)); // the delete's turn
      expect(expectPeeksMatchTheFile()).toBe(2);
      c.advance(1_000);
      const broken = { ...record('b', 10_000), payload: undefined as unknown as Uint8Array };
      expect(() => outbox.append([record('c', 0), broken])).toThrow();
      expect(expectPeeksMatchTheFile()).toBe(2);
      // 1,000 bytes at most: ten rows of 100 make 1,200 with the two there, the two oldest go.
      outbox.append(Array.from({ length: 10 }, (_, i) => record('c', i * 10_000)));
      expect(outbox.stats()).toMatchObject({ depth: 10, droppedTotal: 2 });
      expect(expectPeeksMatchTheFile()).toBe(10);
      // 1,600 bytes would pass the 1,500 in memory: the rows held there are let go and read from the file.
      outbox.append(Array.from({ length: 6 }, (_, i) => record('d', i * 10_000)));
      expect(outbox.stats()).toMatchObject({ depth: 10, droppedTotal: 8 });
      expect(expectPeeksMatchTheFile()).toBe(10);
      outbox.append([record('e', 0)]);
      expect(expectPeeksMatchTheFile()).toBe(10);
    } finally {
      reader.close();
    }
  });

  it('deletes the confirmed rows by runs of rows next to each other, leaving exactly the unconfirmed ones as another connection reads the file: in memory and after a restart', async () => {
    const { outbox, path } = openOutbox();
    const reader = new Database(path, { readonly: true });
    const inFile = () => (reader.prepare('SELECT seq FROM outbox ORDER BY seq').all() as Array<{ seq: number }>).map((row) => row.seq);
    const bytesInFile = () => (reader.prepare('SELECT COALESCE(SUM(bytes), 0) AS b FROM outbox').get() as { b: number }).b;
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    try {
      // Twelve rows, row i of 100 + i bytes.
      const s = outbox.append(Array.from({ length: 12 }, (_, i) => record('a', i * 10_000, 100 + i)));
      outbox.remove(s[3]!); // a gap in the seqs: rows 2 and 4 are next to each other now
      await nextTurn();
      // Confirmed: 0-2 and 4-5 across the gap, 7 between unconfirmed 6 and 8, 9 and 11 around unconfirmed 10.
      for (const i of [0, 1, 2, 4, 5, 7, 9, 11]) outbox.remove(s[i]!);
      await nextTurn();
      expect(inFile()).toEqual([s[6], s[8], s[10]]);
      expect(outbox.peek(0, 100).map((e) => e.seq)).toEqual(inFile());
      expect(outbox.stats()).toMatchObject({ depth: 3, bytes: 106 + 108 + 110 });
      expect(bytesInFile()).toBe(106 + 108 + 110);

      // Reopened, the rows of before are read from the file, the new ones kept in memory.
      outbox.close();
      open.pop();
      const { outbox: reopened } = openOutbox({ path });
      const t = reopened.append([record('b', 0, 200), record('b', 10_000, 201), record('b', 20_000, 202)]);
      for (const seq of [s[6]!, s[10]!, t[0]!, t[2]!]) reopened.remove(seq);
      await nextTurn();
      expect(inFile()).toEqual([s[8], t[1]]);
      expect(reopened.peek(0, 100).map((e) => e.seq)).toEqual(inFile());
      expect(reopened.stats()).toMatchObject({ depth: 2, bytes: 108 + 201 });
      expect(bytesInFile()).toBe(108 + 201);
    } finally {
      reader.close();
    }
  });

  it('commits checkpoints alone and deletes of confirmed rows without an fsync (synchronous=NORMAL), windows with one (FULL)', async () => {
    const { outbox } = openOutbox();
    expect(outbox.synchronous()).toBe('FULL');
    outbox.append([], [checkpoint('a', 'h1', ['0:1'])]);
    expect(outbox.synchronous()).toBe('NORMAL');
    const [seq] = outbox.append([record('a', 0)], [checkpoint('a', 'h2', ['0:2'])]);
    expect(outbox.synchronous()).toBe('FULL');
    outbox.remove(seq!);
    await new Promise((resolve) => setImmediate(resolve));
    expect(outbox.stats().depth).toBe(0);
    expect(outbox.synchronous()).toBe('NORMAL');
    outbox.append([record('a', 10_000)]);
    expect(outbox.synchronous()).toBe('FULL');
  });

  it('keeps in memory a copy of each payload of its own size, not the shared slab the encoder carved it from', () => {
    const { outbox } = openOutbox();
    // Two windows encoded into one 16 KiB slab, as the proto encoders carve them.
    const slab = new Uint8Array(16 * 1024);
    const payloads = [slab.subarray(0, 100).fill(1), slab.subarray(100, 300).fill(2)];
    outbox.append(payloads.map((payload, i) => ({ ...record('a', i * 10_000), payload })));
    slab.fill(9); // whatever becomes of the slab, the rows kept do not change
    const kept = outbox.peek(0, 10);
    // A row held in memory (its shard held, say) keeps its own bytes alive, not the whole slab.
    expect(kept.map((e) => [e.payload.byteLength, e.payload.buffer.byteLength])).toEqual([
      [100, 100],
      [200, 200],
    ]);
    expect(kept.map((e) => [e.payload[0], e.payload[e.payload.byteLength - 1]])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('counts a run of confirmed rows once when it spans rows read from the file and rows held in memory', async () => {
    const { outbox, path } = openOutbox();
    const s = outbox.append([record('a', 0, 100), record('a', 10_000, 101)]);
    outbox.close();
    open.pop();
    // Reopened: the two rows are the file's; the next one, right after them, is held in memory.
    const { outbox: reopened } = openOutbox({ path });
    const [t] = reopened.append([record('b', 0, 200)]);
    expect(t).toBe(s[1]! + 1);
    reopened.remove(s[1]!);
    reopened.remove(t!); // one run [s[1], t]
    await new Promise((resolve) => setImmediate(resolve));
    expect(reopened.stats()).toMatchObject({ depth: 1, bytes: 100 });
    expect(reopened.peek(0, 10).map((e) => e.seq)).toEqual([s[0]]);
  });

  it('ignores the removal of a row that was already dropped', () => {
    const { outbox } = openOutbox({ maxBytes: 100 });
    const [first] = outbox.append([record('a', 0, 100)]);
    outbox.append([record('a', 10_000, 100)]);
    outbox.remove(first!);
    expect(outbox.stats()).toMatchObject({ depth: 1, bytes: 100 });
  });
});
