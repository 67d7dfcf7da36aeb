// The durable outbox: every closed window is written here before it is published, and leaves only
// when Pub/Sub confirmed it. Bounded by bytes and age; at the bound the oldest rows are dropped and
// every drop is counted. Backed by SQLite in WAL mode (better-sqlite3). Transactions commit at
// synchronous=FULL, the WAL fsync'd, so a row that append() returned survives a process kill and a
// power cut. The frequent ones that write no window, checkpoints alone (the periodic checkpoint:
// ~13 a second at 1,250 machines) and deletes of confirmed rows, commit at synchronous=NORMAL,
// without an fsync (0.18 ms a commit against 3.1 ms on this box): a process kill loses none of them
// (the WAL was written, the OS holds it), a power cut those since the last fsync (the next commit
// of windows, or a WAL checkpoint, fsyncs them too). The file stays consistent: the WAL keeps
// commits in order and a power cut leaves a prefix of them, and a machine's windows are committed
// with its checkpoint at FULL, which makes every earlier commit durable with it: a restored
// checkpoint always accounts for its machine's windows in the outbox; it may only be older than the
// last periodic one (as after a crash between two). A lost delete means those windows are published
// again; the processor drops the duplicates by their idempotency key. A clean close checkpoints the
// WAL into the database, with an fsync.
// The same database holds the window engine's checkpoints (window/checkpoint.ts): a header row per
// machine and a row per pane start, written in the same transaction as the windows they account
// for, so after a crash the two always agree. Only what changed is written each time.
// The rows this process appended are also kept in memory until they are deleted (up to a bound), so
// the publisher reads what was just written without a query; SQLite stays the truth, read after a
// restart and whenever the memory was let go (an outage longer than the bound).
import type { Clock } from '@pdm/clock';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config/index.js';
import type { CheckpointPane, CheckpointRecord, StoredCheckpoint } from '../window/index.js';

export interface OutboxRecord {
  machineId: string;
  windowStart: number;
  featureVersion: number;
  revision: number;
  /** The encoded pdm.v1.MachineWindow. */
  payload: Uint8Array;
}

export interface OutboxEntry extends OutboxRecord {
  seq: number;
  createdAt: number;
}

export interface OutboxOptions {
  path: string;
  /** Upper bound of the payload bytes held; beyond it the oldest rows are dropped. */
  maxBytes: number;
  /** Rows older than this (gateway clock) are dropped. */
  maxAgeMs: number;
  /** Stamps rows and ages them; the outbox sets no timer. */
  clock: Pick<Clock, 'now'>;
  /**
   * Bytes still free for the outbox on its filesystem. Default: `statfs` of the outbox's folder
   * (blocks available to this user); a test gives a small filesystem.
   */
  freeBytes?: () => number;
  /** Called with the number of rows dropped at a bound, and which bound. */
  onDrop?: (rows: number, bound: 'bytes' | 'age') => void;
  /**
   * Called when a delete (of confirmed rows, at a bound, of old checkpoints) fails, e.g. on a full disk.
   * The outbox keeps running: confirmed rows are deleted on a later attempt, bounds are enforced on the
   * next tick, old checkpoints forgotten at the next checkpoint.
   */
  onError?: (operation: 'remove_confirmed' | 'enforce_bounds' | 'forget_checkpoints', error: Error) => void;
  /**
   * Called for a window whose idempotency key is already in the outbox with other content. The row
   * there is kept: one key never stands for two contents (it should never happen; it is a bug).
   */
  onConflict?: (record: OutboxRecord) => void;
  /** Payload bytes of the newest rows kept in memory for peek at most; default RECENT_MAX_BYTES. */
  recentMaxBytes?: number;
}

export interface OutboxStats {
  depth: number;
  bytes: number;
  oldestAgeMs: number;
  /** Bytes per second appended recently (exponentially weighted, ~5 min horizon). */
  appendRateBytesPerSec: number;
  /**
   * How long an outage can last before the outbox must drop: until the smaller of the room left
   * under the bytes bound and the free space of its filesystem fills at the current append rate,
   * or the oldest row reaches the age bound, whichever comes first.
   */
  hoursOfOutageLeft: number;
  droppedTotal: number;
}

const RATE_HORIZON_MS = 5 * 60_000;

/** SQLite's synchronous level: FULL fsyncs the WAL at every commit, NORMAL only at WAL checkpoints. */
export type Synchronous = 'FULL' | 'NORMAL';

/**
 * Payload bytes of the newest rows kept in memory at most: a boundary of validation.maxMachines
 * (5,000 windows of ~1 KB) fits. Beyond it (a long outage), they are let go and read from SQLite.
 */
export const RECENT_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Creates the folder of the outbox file `path` and its missing parents, one level at a time from the
 * nearest existing one. Node's recursive mkdir is not used: under /proc it loops forever (each level
 * "does not exist" and cannot be made), a gateway that hangs silently and ignores SIGTERM. A folder
 * that cannot be made is a ConfigError naming the key (exit 2), not a bare EEXIST that systemd
 * restarts forever.
 */
function createFolder(path: string): void {
  const missing: string[] = [];
  let folder = dirname(path);
  while (!existsSync(folder) && dirname(folder) !== folder) {
    missing.unshift(folder);
    folder = dirname(folder);
  }
  try {
    if (!statSync(folder).isDirectory()) throw new Error(`${folder} is not a folder`);
    for (const level of missing) mkdirSync(level);
  } catch (error) {
    throw new ConfigError(`outbox.path ${path}: cannot create its folder: ${(error as Error).message}`);
  }
}

/** Bytes available to this process on the filesystem holding `dir`; unknown (Infinity) if it cannot be read. */
function filesystemFreeBytes(dir: string): number {
  try {
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize;
  } catch {
    return Infinity;
  }
}

interface Row {
  seq: number;
  machine_id: string;
  window_start: number;
  feature_version: number;
  revision: number;
  created_at: number;
  payload: Buffer;
}

const toEntry = (row: Row): OutboxEntry => ({
  seq: row.seq,
  machineId: row.machine_id,
  windowStart: row.window_start,
  featureVersion: row.feature_version,
  revision: row.revision,
  createdAt: row.created_at,
  payload: row.payload,
});

export class Outbox {
  private readonly db: Database.Database;
  private bytes: number;
  private depth: number;
  private droppedTotal = 0;
  /** Confirmed rows not yet deleted: deletes are batched into one transaction per event-loop turn. */
  private readonly pendingRemovals = new Set<number>();
  private removalScheduled = false;
  private rate = 0;
  private lastAppendAt: number | undefined;
  private readonly freeBytes: () => number;
  /**
   * Every row with seq > recentFloor, in seq order, as appended by this process (confirmed ones not
   * yet deleted among them, as in the table): peek reads from here above the floor.
   */
  private recent: OutboxEntry[] = [];
  private recentBytes = 0;
  private recentFloor: number;
  /** The connection's synchronous level, set between transactions when it changes. */
  private synchronousLevel: Synchronous = 'FULL';

  private readonly insert: Database.Statement;
  private readonly deleteBetween: Database.Statement;
  private readonly sizeBetween: Database.Statement;
  private readonly selectAfter: Database.Statement;
  private readonly selectOldest: Database.Statement;
  private readonly deleteUpTo: Database.Statement;
  private readonly sizeUpTo: Database.Statement;
  private readonly selectByKey: Database.Statement;
  private readonly firstSeqSince: Database.Statement;
  private readonly seqAtOffset: Database.Statement;
  private readonly checkpointStatements: ReturnType<typeof prepareCheckpointStatements>;
  /** Machines with a checkpoint stored. */
  private checkpointMachines: number;
  /** Rows of a checkpoint table of an older version, found at open and dropped (their machines start afresh). */
  readonly refusedCheckpoints: number;

  constructor(private readonly options: OutboxOptions) {
    createFolder(options.path);
    this.freeBytes = options.freeBytes ?? (() => filesystemFreeBytes(dirname(options.path)));
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${this.synchronousLevel}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        machine_id TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        feature_version INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        payload BLOB NOT NULL
      )`);
    this.db.exec('CREATE UNIQUE INDEX IF NOT EXISTS outbox_key ON outbox (machine_id, window_start, feature_version, revision)');
    this.refusedCheckpoints = dropVersion1Checkpoints(this.db);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS checkpoint_machine (
        machine_id TEXT PRIMARY KEY,
        updated_at INTEGER NOT NULL,
        header BLOB NOT NULL
      )`);
    this.db.exec('CREATE INDEX IF NOT EXISTS checkpoint_machine_age ON checkpoint_machine (updated_at)');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS checkpoint_pane (
        machine_id TEXT NOT NULL,
        pane_start INTEGER NOT NULL,
        stats BLOB NOT NULL,
        PRIMARY KEY (machine_id, pane_start)
      ) WITHOUT ROWID`);
    this.db.exec('CREATE TABLE IF NOT EXISTS gateway_setting (name TEXT PRIMARY KEY, value TEXT NOT NULL)');
    this.checkpointStatements = prepareCheckpointStatements(this.db);
    this.checkpointMachines = (this.db.prepare('SELECT COUNT(*) AS n FROM checkpoint_machine').get() as { n: number }).n;
    this.insert = this.db.prepare(
      `INSERT INTO outbox (machine_id, window_start, feature_version, revision, created_at, bytes, payload)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (machine_id, window_start, feature_version, revision) DO NOTHING`,
    );
    this.deleteBetween = this.db.prepare('DELETE FROM outbox WHERE seq BETWEEN ? AND ?');
    this.sizeBetween = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM outbox WHERE seq BETWEEN ? AND ?');
    this.selectAfter = this.db.prepare('SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?');
    this.selectOldest = this.db.prepare('SELECT seq, created_at FROM outbox ORDER BY seq LIMIT 1');
    this.deleteUpTo = this.db.prepare('DELETE FROM outbox WHERE seq <= ?');
    this.sizeUpTo = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM outbox WHERE seq <= ?');
    this.selectByKey = this.db.prepare(
      'SELECT seq, payload FROM outbox WHERE machine_id = ? AND window_start = ? AND feature_version = ? AND revision = ?',
    );
    // From the oldest row on, so it reads only the rows past the age bound (created_at has no index;
    // MAX(seq) WHERE created_at < ? read every younger row, most of the table, at every tick).
    this.firstSeqSince = this.db.prepare('SELECT seq FROM outbox WHERE created_at >= ? ORDER BY seq LIMIT 1');
    this.seqAtOffset = this.db.prepare('SELECT seq FROM outbox ORDER BY seq LIMIT 1 OFFSET ?');
    const totals = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM outbox').get() as { n: number; b: number };
    this.depth = totals.n;
    this.bytes = totals.b;
    // AUTOINCREMENT: every row appended from now on has a greater seq than any the table holds.
    this.recentFloor = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM outbox').get() as { seq: number }).seq;
  }

  /**
   * Runs `body` in a transaction committed at the `synchronous` level. The level cannot change inside
   * a transaction: it is set before, and only when it differs from the last one.
   */
  private transaction<T>(synchronous: Synchronous, body: () => T): T {
    if (synchronous !== this.synchronousLevel) {
      this.db.pragma(`synchronous = ${synchronous}`);
      this.synchronousLevel = synchronous;
    }
    return this.db.transaction(body)();
  }

  /** The synchronous level of the connection, read from it: that of the last transaction. */
  synchronous(): Synchronous {
    return this.db.pragma('synchronous', { simple: true }) === 2 ? 'FULL' : 'NORMAL';
  }

  /**
   * Durably appends windows, with the checkpoints of the machines they came from, in one transaction,
   * then enforces the bounds: at synchronous=FULL with windows, NORMAL with checkpoints alone (see
   * the top of the file). Returns the windows' seqs. A window whose key is already here is not
   * written again: with the same bytes it is the same window (the row's seq is returned), with other
   * bytes it is refused (`onConflict`) and the row there stays.
   */
  append(records: readonly OutboxRecord[], checkpoints: readonly CheckpointRecord[] = []): number[] {
    if (records.length === 0 && checkpoints.length === 0) return [];
    this.flushRemovals();
    const now = this.options.clock.now();
    const conflicts: OutboxRecord[] = [];
    // The counts change only once the transaction committed: a failed commit (a full disk) rolls
    // the rows back, and the windows are appended again on the next attempt.
    const { seqs, added, bytesChange, machinesAdded } = this.transaction(records.length > 0 ? 'FULL' : 'NORMAL', () => {
      let bytesChange = 0;
      const added: OutboxEntry[] = [];
      const seqs = records.map((r) => {
        const inserted = this.insert.run(r.machineId, r.windowStart, r.featureVersion, r.revision, now, r.payload.byteLength, r.payload);
        if (inserted.changes === 0) {
          // The key is taken: the row there is kept (the same window, or a conflict).
          const existing = this.selectByKey.get(r.machineId, r.windowStart, r.featureVersion, r.revision) as { seq: number; payload: Buffer };
          if (!existing.payload.equals(r.payload)) conflicts.push(r);
          return existing.seq;
        }
        const seq = Number(inserted.lastInsertRowid);
        // A copy of its own size, as a Buffer like a row read from SQLite: the encoders carve windows
        // out of shared 16 KiB slabs, and a view kept here for long (its shard held) would keep the
        // whole slab alive, up to ~8x the bytes recentMaxBytes counts.
        const payload = Buffer.from(new Uint8Array(r.payload).buffer);
        added.push({ seq, machineId: r.machineId, windowStart: r.windowStart, featureVersion: r.featureVersion, revision: r.revision, createdAt: now, payload });
        bytesChange += r.payload.byteLength;
        return seq;
      });
      let machinesAdded = 0;
      for (const c of checkpoints) machinesAdded += this.writeCheckpoint(c, now);
      return { seqs, added, bytesChange, machinesAdded };
    });
    this.checkpointMachines += machinesAdded;
    this.depth += added.length;
    this.bytes += bytesChange;
    this.keepRecent(added, bytesChange);
    for (const conflict of conflicts) this.options.onConflict?.(conflict);
    if (records.length > 0) this.updateRate(now, bytesChange);
    this.enforceBounds();
    return seqs;
  }

  /** Applies one machine's checkpoint (inside a transaction); 1 when the machine had none stored. */
  private writeCheckpoint(c: CheckpointRecord, now: number): number {
    const st = this.checkpointStatements;
    if (c.dropAll) st.deletePanes.run(c.machineId);
    if (c.dropBefore !== undefined) st.deletePanesBefore.run(c.machineId, c.dropBefore);
    for (const pane of c.panes) st.upsertPane.run(c.machineId, pane.paneStart, pane.stats);
    if (st.updateHeader.run(now, c.header, c.machineId).changes > 0) return 0;
    st.insertHeader.run(c.machineId, now, c.header);
    return 1;
  }

  /** The last checkpoint of a machine, undefined when there is none. */
  checkpointOf(machineId: string): StoredCheckpoint | undefined {
    const row = this.checkpointStatements.selectHeader.get(machineId) as { header: Buffer } | undefined;
    return row && { machineId, header: row.header, panes: this.panesOf(machineId) };
  }

  /** The checkpoints written at or after `since` (gateway clock), the `limit` newest, for a restart. */
  checkpoints(since = -Infinity, limit = Number.MAX_SAFE_INTEGER): StoredCheckpoint[] {
    const rows = this.checkpointStatements.selectHeadersSince.all(since, limit) as Array<{ machine_id: string; header: Buffer }>;
    return rows.map((row) => ({ machineId: row.machine_id, header: row.header, panes: this.panesOf(row.machine_id) }));
  }

  private panesOf(machineId: string): CheckpointPane[] {
    const rows = this.checkpointStatements.selectPanes.all(machineId) as Array<{ pane_start: number; stats: Buffer }>;
    return rows.map((row) => ({ paneStart: row.pane_start, stats: row.stats }));
  }

  /** Forgets the checkpoints not written since `before` (gateway clock); returns how many. */
  forgetCheckpointsBefore(before: number): number {
    return this.forgetCheckpoints(() => this.checkpointStatements.selectWrittenBefore.all(before, Number.MAX_SAFE_INTEGER) as Array<{ machine_id: string }>);
  }

  /**
   * Keeps at most `maxMachines` checkpoints: beyond, forgets the oldest of those not written since
   * `before` (the engine no longer holds those machines; one it holds must keep its stored panes, as
   * it writes only what changes). Returns how many it forgot.
   */
  boundCheckpoints(maxMachines: number, before: number): number {
    const excess = this.checkpointMachines - maxMachines;
    if (excess <= 0) return 0;
    return this.forgetCheckpoints(() => this.checkpointStatements.selectWrittenBefore.all(before, excess) as Array<{ machine_id: string }>);
  }

  /** Machines with a checkpoint stored. */
  checkpointCount(): number {
    return this.checkpointMachines;
  }

  /** Forgets the checkpoints of the machines `select` picks; a failure (a full disk) is reported, and 0 forgotten. */
  private forgetCheckpoints(select: () => ReadonlyArray<{ machine_id: string }>): number {
    try {
      return this.deleteCheckpoints(select());
    } catch (error) {
      this.options.onError?.('forget_checkpoints', error as Error);
      return 0;
    }
  }

  private deleteCheckpoints(rows: ReadonlyArray<{ machine_id: string }>): number {
    if (rows.length === 0) return 0;
    const st = this.checkpointStatements;
    this.transaction('FULL', () => {
      for (const { machine_id: id } of rows) {
        st.deletePanes.run(id);
        st.deleteHeader.run(id);
      }
    });
    this.checkpointMachines -= rows.length;
    return rows.length;
  }

  /** Oldest entries with seq greater than `afterSeq`, in append order (confirmed ones excluded). */
  peek(afterSeq: number, limit: number): OutboxEntry[] {
    const rows = afterSeq >= this.recentFloor ? this.recentAfter(afterSeq, limit) : (this.selectAfter.all(afterSeq, limit) as Row[]).map(toEntry);
    return this.pendingRemovals.size === 0 ? rows : rows.filter((row) => !this.pendingRemovals.has(row.seq));
  }

  /** The rows after `afterSeq` (at least recentFloor), at most `limit`, from memory. */
  private recentAfter(afterSeq: number, limit: number): OutboxEntry[] {
    const recent = this.recent;
    // The first row with a greater seq, by bisection (seqs increase along the array).
    let low = 0;
    let high = recent.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((recent[mid] as OutboxEntry).seq <= afterSeq) low = mid + 1;
      else high = mid;
    }
    return recent.slice(low, low + limit);
  }

  /** Keeps the rows just committed in memory; lets every row there go when they would pass the bound. */
  private keepRecent(added: readonly OutboxEntry[], bytes: number): void {
    if (added.length === 0) return;
    if (this.recentBytes + bytes > (this.options.recentMaxBytes ?? RECENT_MAX_BYTES)) {
      this.recent = [];
      this.recentBytes = 0;
      this.recentFloor = (added[added.length - 1] as OutboxEntry).seq;
      return;
    }
    for (const entry of added) this.recent.push(entry);
    this.recentBytes += bytes;
  }

  /** Lets the rows deleted from the table go from memory too. */
  private forgetRecent(deleted: (entry: OutboxEntry) => boolean): void {
    if (this.recent.length === 0) return;
    const kept: OutboxEntry[] = [];
    let bytes = 0;
    for (const entry of this.recent) {
      if (deleted(entry)) continue;
      kept.push(entry);
      bytes += entry.payload.byteLength;
    }
    this.recent = kept;
    this.recentBytes = bytes;
  }

  /**
   * Removes an entry Pub/Sub has confirmed; removing one already dropped is a no-op. Peek skips it at
   * once, and whatever counts rows (stats, the bounds, append, close) commits the pending deletes
   * first, so it never counts toward depth or bytes, nor is it what a bound drops. The delete is
   * committed with the other confirmations of this event-loop turn, or, `'by-caller'`, when the
   * caller calls flushRemovals() (the publisher: once the messages it published together settled):
   * one transaction instead of one per window, a statement per run of rows next to each other. A
   * delete lost in a crash or a power cut only means that window is published again, which the
   * idempotency key makes harmless.
   */
  remove(seq: number, commit: 'next-turn' | 'by-caller' = 'next-turn'): void {
    this.pendingRemovals.add(seq);
    if (commit === 'by-caller' || this.removalScheduled) return;
    this.removalScheduled = true;
    setImmediate(() => this.flushRemovals());
  }

  /** Commits the deletes of the rows removed so far, in one transaction. */
  flushRemovals(): void {
    this.removalScheduled = false;
    if (this.pendingRemovals.size === 0 || !this.db.open) return;
    try {
      const runs = this.removalRuns();
      const floor = this.recentFloor;
      const removed = this.transaction('NORMAL', () => {
        let rows = 0;
        let bytes = 0;
        for (const [first, last] of runs) {
          // What the run holds still (a confirmed row may have been dropped at a bound since): asked
          // of the file up to the floor; above it memory holds every row and says it below.
          if (first <= floor) {
            const { n, b } = this.sizeBetween.get(first, Math.min(last, floor)) as { n: number; b: number };
            rows += n;
            bytes += b;
          }
          this.deleteBetween.run(first, last);
        }
        return { rows, bytes };
      });
      const inMemory = { rows: this.recent.length, bytes: this.recentBytes };
      this.forgetRecent((entry) => this.pendingRemovals.has(entry.seq));
      this.depth -= removed.rows + inMemory.rows - this.recent.length;
      this.bytes -= removed.bytes + inMemory.bytes - this.recentBytes;
      this.pendingRemovals.clear();
    } catch (error) {
      // The transaction rolled back: the rows stay pending (and are not published again) until a
      // later flush deletes them.
      this.options.onError?.('remove_confirmed', error as Error);
    }
  }

  /**
   * The confirmed rows as runs [first, last] of seqs no unconfirmed row lies between: seqs that
   * follow one another, or rows that follow one another in memory (it holds every row above
   * recentFloor, so no other lies between two of its rows).
   */
  private removalRuns(): Array<[number, number]> {
    const seqs = [...this.pendingRemovals].sort((x, y) => x - y);
    const recent = this.recent;
    const runs: Array<[number, number]> = [];
    let run: [number, number] | undefined;
    /** The seq of the row after the last one of `run` when it is known (from memory). */
    let nextRow: number | undefined;
    let i = 0;
    for (const seq of seqs) {
      while (i < recent.length && (recent[i] as OutboxEntry).seq < seq) i++;
      if (run && (seq === run[1] + 1 || seq === nextRow)) run[1] = seq;
      else {
        run = [seq, seq];
        runs.push(run);
      }
      nextRow = recent[i]?.seq === seq ? recent[i + 1]?.seq : undefined;
    }
    return runs;
  }

  /** Drops the oldest rows beyond the byte bound and every row older than the age bound. */
  enforceBounds(): void {
    this.flushRemovals();
    try {
      this.dropBeyondBounds();
    } catch (error) {
      this.options.onError?.('enforce_bounds', error as Error);
    }
  }

  private dropBeyondBounds(): void {
    const now = this.options.clock.now();
    const oldest = this.selectOldest.get() as { seq: number; created_at: number } | undefined;
    if (oldest && now - oldest.created_at > this.options.maxAgeMs) {
      const young = this.firstSeqSince.get(now - this.options.maxAgeMs) as { seq: number } | undefined;
      this.dropUpTo(young ? young.seq - 1 : Number.MAX_SAFE_INTEGER, 'age');
    }
    while (this.bytes > this.options.maxBytes && this.depth > 0) {
      // Drop in chunks of the oldest rows so a large overshoot takes few statements.
      const excess = this.bytes - this.options.maxBytes;
      const averageRow = this.bytes / this.depth;
      const rows = Math.max(1, Math.ceil(excess / averageRow));
      const last = this.seqAtOffset.get(Math.min(rows, this.depth) - 1) as { seq: number };
      this.dropUpTo(last.seq, 'bytes');
    }
  }

  private dropUpTo(seq: number, bound: 'bytes' | 'age'): void {
    const { n, b } = this.transaction('FULL', () => {
      const size = this.sizeUpTo.get(seq) as { n: number; b: number };
      this.deleteUpTo.run(seq);
      return size;
    });
    this.depth -= n;
    this.bytes -= b;
    this.forgetRecent((entry) => entry.seq <= seq);
    this.droppedTotal += n;
    if (n > 0) this.options.onDrop?.(n, bound);
  }

  private updateRate(now: number, bytes: number): void {
    if (this.lastAppendAt === undefined) {
      this.lastAppendAt = now;
      return;
    }
    const elapsed = Math.max(1, now - this.lastAppendAt);
    const instant = (bytes * 1000) / elapsed;
    const weight = Math.min(1, elapsed / RATE_HORIZON_MS);
    this.rate = this.rate === 0 ? instant : this.rate + weight * (instant - this.rate);
    this.lastAppendAt = now;
  }

  /** The append rate, decayed over the silence since the last append as if zero bytes had come. */
  private currentRate(now: number): number {
    if (this.lastAppendAt === undefined) return 0;
    const silence = Math.max(0, now - this.lastAppendAt);
    return this.rate * (1 - Math.min(1, silence / RATE_HORIZON_MS));
  }

  stats(): OutboxStats {
    this.flushRemovals();
    const now = this.options.clock.now();
    const oldest = this.selectOldest.get() as { created_at: number } | undefined;
    const oldestAgeMs = oldest ? Math.max(0, now - oldest.created_at) : 0;
    // An outage ends in loss when the bytes bound is reached, when the disk is full (whichever room
    // is smaller) or when the oldest row reaches maxAge.
    const rate = this.currentRate(now);
    const room = Math.min(this.options.maxBytes - this.bytes, this.freeBytes());
    const spaceSeconds = rate > 0 ? Math.max(0, room) / rate : Infinity;
    const ageSeconds = (this.options.maxAgeMs - oldestAgeMs) / 1000;
    return {
      depth: this.depth,
      bytes: this.bytes,
      oldestAgeMs,
      appendRateBytesPerSec: rate,
      hoursOfOutageLeft: Math.max(0, Math.min(spaceSeconds, ageSeconds)) / 3600,
      droppedTotal: this.droppedTotal,
    };
  }

  /**
   * Records `layout`, how the gateway lays its windows out on the wire (which sets their ordering keys),
   * and returns the one recorded before when it was another: the windows published before the change
   * went under other keys, which Pub/Sub does not order against the new ones.
   */
  wireLayoutChange(layout: string): string | undefined {
    const before = (this.db.prepare("SELECT value FROM gateway_setting WHERE name = 'wire_layout'").get() as { value: string } | undefined)?.value;
    this.db.prepare("INSERT INTO gateway_setting (name, value) VALUES ('wire_layout', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(layout);
    return before !== undefined && before !== layout ? before : undefined;
  }

  close(): void {
    this.flushRemovals();
    this.db.close();
  }
}

function prepareCheckpointStatements(db: Database.Database) {
  return {
    updateHeader: db.prepare('UPDATE checkpoint_machine SET updated_at = ?, header = ? WHERE machine_id = ?'),
    insertHeader: db.prepare('INSERT INTO checkpoint_machine (machine_id, updated_at, header) VALUES (?, ?, ?)'),
    selectHeader: db.prepare('SELECT header FROM checkpoint_machine WHERE machine_id = ?'),
    selectHeadersSince: db.prepare('SELECT machine_id, header FROM checkpoint_machine WHERE updated_at >= ? ORDER BY updated_at DESC LIMIT ?'),
    selectWrittenBefore: db.prepare('SELECT machine_id FROM checkpoint_machine WHERE updated_at < ? ORDER BY updated_at LIMIT ?'),
    deleteHeader: db.prepare('DELETE FROM checkpoint_machine WHERE machine_id = ?'),
    // An upsert that updates the row in place: INSERT OR REPLACE deletes it and inserts it again, which
    // cost ~3 ms more per 1,000 machines (a boundary's checkpoints, or a periodic one).
    upsertPane: db.prepare(
      'INSERT INTO checkpoint_pane (machine_id, pane_start, stats) VALUES (?, ?, ?) ON CONFLICT (machine_id, pane_start) DO UPDATE SET stats = excluded.stats',
    ),
    selectPanes: db.prepare('SELECT pane_start, stats FROM checkpoint_pane WHERE machine_id = ?'),
    deletePanes: db.prepare('DELETE FROM checkpoint_pane WHERE machine_id = ?'),
    deletePanesBefore: db.prepare('DELETE FROM checkpoint_pane WHERE machine_id = ? AND pane_start < ?'),
  };
}

/**
 * Version 1 kept each machine's whole state as JSON in a `checkpoint` table. Those are not restored:
 * the table goes, and its machines start afresh (their next windows may reuse keys the processor then
 * refuses and counts). Returns how many rows it held.
 */
function dropVersion1Checkpoints(db: Database.Database): number {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoint'").get();
  if (!exists) return 0;
  const { n } = db.prepare('SELECT COUNT(*) AS n FROM checkpoint').get() as { n: number };
  db.exec('DROP TABLE checkpoint');
  return n;
}
