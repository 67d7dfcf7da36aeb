// The scorer's state file: every stateful model kind's per-machine state (robust-t2 baselines, a new
// machine's level while a class model learns it, online thresholds; adaptive-z histories; pca's and the
// autoencoder's online thresholds) and the
// running-state gates' (the previous window, settling), so a restarted processor decides the next window
// as if it had never stopped.
// An SQLite database (better-sqlite3, as the gateway's outbox), format 3: one row per machine and model
// version, its state encoded by state-codec.ts. A save writes, in one transaction, the rows of the
// machines scored since the previous save and deletes the rows of machines forgotten since: a kill
// during a save leaves each machine's previous state or its new one, never a torn file, and a machine
// that sent nothing costs nothing. (Format 2, one JSON text rewritten whole every minute, took ~0.3 s
// of CPU per 1,000 calibrated robust-t2 machines, idle ones included.) A format-2 file found at the path
// is migrated on open: the database is built beside it and renamed over it, so a crash leaves the JSON.
// The file is created by the first save.
// A row this processor cannot decode (one written by a newer release with a field added, then rolled
// back from; a corrupted one) costs its machine only: on open it is moved, in one transaction, to the
// table machine_state_unreadable with the reason, and every other machine is restored. Moved rather than
// left in place, where the machine's next save would overwrite it; in the same database rather than
// copied out, so the move is atomic and leaves no other file to manage. The format stays 3: a release
// before the table never reads it. Only a file that cannot be read at all is set aside whole.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { GateState } from '../model/regime.js';
import type { BaselineState } from '../model/robust-t2.js';
import type { MachineHistory } from './adaptive-z-batch.js';
import { MachineStates, type MachineStateEntry } from './machine-states.js';
import type { MachineThreshold } from './machine-thresholds.js';
import { decodeJsonStateFile, decodeRowState, emptyScorerState, encodeRowState, type ScorerState, type StateKind } from './state-codec.js';

/** Raised when the database's layout or a row's encoding changes incompatibly (PRAGMA user_version). */
export const STATE_FILE_FORMAT = 3;

/** The first bytes of every SQLite database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** The files SQLite keeps beside a WAL database: the WAL holds commits not yet copied into it. */
const SIDE_FILES = ['-wal', '-shm'];

/** The live states the scorer keeps, by kind, as a save reads them. */
export interface StateSources {
  robustT2: MachineStates<BaselineState>;
  adaptiveZ: MachineStates<MachineHistory>;
  pcaThresholds: MachineStates<MachineThreshold>;
  autoencoderThresholds: MachineStates<MachineThreshold>;
  gates: MachineStates<GateState>;
}

/** Sources with no machine in them, each as the scorer makes it (for tools and tests that save states of their own). */
export function emptyStateSources(): StateSources {
  const decided = (s: { decidedUntil: number }): number => s.decidedUntil;
  return {
    robustT2: new MachineStates<BaselineState>(decided),
    adaptiveZ: new MachineStates<MachineHistory>(decided),
    pcaThresholds: new MachineStates<MachineThreshold>(decided),
    autoencoderThresholds: new MachineStates<MachineThreshold>(decided),
    gates: new MachineStates<GateState>((g) => g.previousEnd),
  };
}

/** Puts `state` (read from a state file) back into the live states. */
export function restoreStates(sources: StateSources, state: ScorerState): void {
  for (const kind of KINDS) (sources[FIELDS[kind]] as MachineStates<unknown>).restore(state[FIELDS[kind]] as MachineStateEntry<unknown>[]);
}

/** How many machine states (of every kind) `state` holds. */
export function machineStateCount(state: ScorerState): number {
  return KINDS.reduce((sum, kind) => sum + state[FIELDS[kind]].length, 0);
}

/** Which ScorerState / StateSources field holds each kind. */
const FIELDS = { 'robust-t2': 'robustT2', 'adaptive-z': 'adaptiveZ', pca: 'pcaThresholds', autoencoder: 'autoencoderThresholds', gate: 'gates' } as const satisfies Record<StateKind, keyof ScorerState>;
const KINDS = Object.keys(FIELDS) as StateKind[];

/** A row's key: the kind and the machine under one model version. */
interface RowKey {
  kind: StateKind;
  model: string;
  version: string;
  trainedAt: string;
  siteId: string;
  machineId: string;
}

function rowKeyOf(kind: StateKind, { model, version, trainedAt, siteId, machineId }: MachineStateEntry<unknown>): RowKey {
  return { kind, model, version, trainedAt, siteId, machineId };
}

/** A row of machine_state by its key (kind, model, version, trained_at, site_id, machine_id). */
const WHERE_ROW = 'kind = ? AND model = ? AND version = ? AND trained_at = ? AND site_id = ? AND machine_id = ?';

function keyText(key: RowKey): string {
  return JSON.stringify([key.kind, key.model, key.version, key.trainedAt, key.siteId, key.machineId]);
}

/** A row whose state this processor cannot decode (its kind may be one it does not know), and why. */
export interface UnreadableRow extends Omit<RowKey, 'kind'> {
  kind: string;
  reason: string;
}

export class StateFile {
  /** Opened (or created) by the first save when the file did not exist. */
  private db: Database.Database | undefined;
  /** The rows the file holds, so a save can delete those of machines forgotten since. */
  private readonly rows = new Map<string, RowKey>();
  /** After a failed save the next one writes every machine: the failed one took their changes. */
  private writeAll = false;

  /** A state file at `file` to save into, holding nothing yet (a missing file, one set aside). */
  constructor(readonly file: string) {}

  /**
   * The state file at `file` and the states it holds (none when there is no file yet); a format-2 JSON
   * file there is migrated first. The rows it cannot decode are moved to machine_state_unreadable and
   * returned as `keptAside` (with `keepAsideFailed` when the move itself failed: they stay where they
   * were, and a save of their machine overwrites them). Throws, naming what is wrong, when the file
   * cannot be read: the caller sets it aside.
   */
  static open(file: string, now: number): { stateFile: StateFile; state: ScorerState; migrated: boolean; keptAside: UnreadableRow[]; keepAsideFailed?: string } {
    const stateFile = new StateFile(file);
    if (!existsSync(file)) return { stateFile, state: emptyScorerState(), migrated: false, keptAside: [] };
    const migrated = !isSqlite(file);
    if (migrated) migrateJsonStateFile(file, now);
    const db = openDatabase(file);
    try {
      const { state, unreadable } = readRows(db, (key) => stateFile.rows.set(keyText(key), key));
      stateFile.db = db;
      try {
        keepAside(db, unreadable, now);
      } catch (err) {
        // The rows read are good (a full disk, a read-only volume failed the move): the file is not
        // set aside for it — that would lose every machine's state over a few unreadable rows.
        return { stateFile, state, migrated, keptAside: unreadable, keepAsideFailed: (err as Error).message };
      }
      return { stateFile, state, migrated, keptAside: unreadable };
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * Writes the states of the machines scored since the previous save and deletes the rows of machines
   * no longer kept, in one transaction. Call it between two batches, so every machine is at the same
   * point. Returns how many rows were written and deleted.
   */
  save(sources: StateSources, savedAt: number): { written: number; deleted: number } {
    const db = (this.db ??= openDatabase(this.file));
    const writeAll = this.writeAll;
    this.writeAll = true; // until this save has committed
    const written: RowKey[] = [];
    const deleted: string[] = [];
    const upsert = db.prepare(
      `INSERT INTO machine_state (kind, model, version, trained_at, site_id, machine_id, saved_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (kind, model, version, trained_at, site_id, machine_id) DO UPDATE SET saved_at = excluded.saved_at, state = excluded.state`,
    );
    const remove = db.prepare(`DELETE FROM machine_state WHERE ${WHERE_ROW}`);
    db.transaction(() => {
      for (const kind of KINDS) {
        const states = sources[FIELDS[kind]] as MachineStates<unknown>;
        const changed = states.takeChanged();
        for (const entry of writeAll ? states.entries() : changed) {
          const key = rowKeyOf(kind, entry);
          // Encoded row by row: the save never holds every machine's bytes at once.
          upsert.run(kind, key.model, key.version, key.trainedAt, key.siteId, key.machineId, savedAt, encodeRowState(entry.state));
          written.push(key);
        }
      }
      for (const [text, key] of this.rows) {
        const states = sources[FIELDS[key.kind]] as MachineStates<unknown>;
        if (states.has(key.model, key.version, key.trainedAt, key.siteId, key.machineId)) continue;
        remove.run(key.kind, key.model, key.version, key.trainedAt, key.siteId, key.machineId);
        deleted.push(text);
      }
    })();
    for (const key of written) this.rows.set(keyText(key), key);
    for (const text of deleted) this.rows.delete(text);
    this.writeAll = false;
    return { written: written.length, deleted: deleted.length };
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}

/**
 * The states in the state file at `file`, read-only (none when there is no file): for tests and
 * operators. Throws, naming the machine, at a row it cannot decode.
 */
export function readStateFile(file: string): ScorerState {
  if (!existsSync(file)) return emptyScorerState();
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    checkFormat(db);
    const { state, unreadable } = readRows(db, () => undefined);
    const [first] = unreadable;
    if (first !== undefined) throw new Error(`machine ${first.siteId}/${first.machineId} of ${first.model}@${first.version}: ${first.reason}`);
    return state;
  } finally {
    db.close();
  }
}

/** Moves an unreadable state file (with SQLite's files beside it) aside, where no save overwrites it; returns its new name. */
export async function setAside(file: string, now: number): Promise<string> {
  const aside = `${file}.unreadable-${now}`;
  await rename(file, aside);
  for (const suffix of SIDE_FILES) {
    await rename(`${file}${suffix}`, `${aside}${suffix}`).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
  }
  return aside;
}

/**
 * Gives the state file at `from` (a name an older release used) the name `to`, with the files SQLite
 * keeps beside it, unless there is a file at `to` already or none at `from`; returns whether it moved
 * one. Either format moves as it is: a format-2 JSON file is migrated when opened under its new name.
 * The WAL (the saves a killed processor had not yet copied into the database) moves before the
 * database: a crash in between leaves no file at `to`, so the next call moves the database to its WAL.
 */
export function renameStateFile(from: string, to: string): boolean {
  if (existsSync(to) || !existsSync(from)) return false;
  for (const suffix of [...SIDE_FILES, '']) {
    if (existsSync(`${from}${suffix}`)) renameSync(`${from}${suffix}`, `${to}${suffix}`);
  }
  return true;
}

function isSqlite(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const read = readSync(fd, header, 0, header.length, 0);
    // An empty file is an empty database to SQLite.
    return read === 0 || header.equals(SQLITE_HEADER);
  } finally {
    closeSync(fd);
  }
}

/** The database at `file` (created, with its folder, if missing), as the scorer writes it: WAL, every commit synced. */
function openDatabase(file: string): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    if (db.pragma('user_version', { simple: true }) === 0) createTable(db);
    checkFormat(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The columns of a machine's state row, in machine_state and in machine_state_unreadable alike. */
const ROW_COLUMNS = `
  kind TEXT NOT NULL,
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  trained_at TEXT NOT NULL,
  site_id TEXT NOT NULL,
  machine_id TEXT NOT NULL,
  saved_at INTEGER NOT NULL,
  state BLOB NOT NULL`;

function createTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS machine_state (${ROW_COLUMNS}, PRIMARY KEY (kind, model, version, trained_at, site_id, machine_id))`);
  db.pragma(`user_version = ${STATE_FILE_FORMAT}`);
}

function checkFormat(db: Database.Database): void {
  const format = db.pragma('user_version', { simple: true }) as number;
  if (format !== STATE_FILE_FORMAT) throw new Error(`a scorer state file of format ${format}; this processor reads format ${STATE_FILE_FORMAT}`);
}

interface Row {
  kind: string;
  model: string;
  version: string;
  trained_at: string;
  site_id: string;
  machine_id: string;
  state: Buffer;
}

/**
 * Every row's state, checked, and the rows that are not a state of their kind; `onRow` is told the key
 * of each row decoded. Throws only when the table cannot be read.
 */
function readRows(db: Database.Database, onRow: (key: RowKey) => void): { state: ScorerState; unreadable: UnreadableRow[] } {
  const state = emptyScorerState();
  const unreadable: UnreadableRow[] = [];
  const rows = db.prepare('SELECT kind, model, version, trained_at, site_id, machine_id, state FROM machine_state').iterate() as IterableIterator<Row>;
  for (const row of rows) {
    const entry = { model: row.model, version: row.version, trainedAt: row.trained_at, siteId: row.site_id, machineId: row.machine_id };
    try {
      const kind = KINDS.find((k) => k === row.kind);
      if (kind === undefined) throw new Error(`unknown kind ${JSON.stringify(row.kind)}`);
      (state[FIELDS[kind]] as MachineStateEntry<unknown>[]).push({ ...entry, state: decodeRowState(kind, row.state) });
      onRow({ kind, ...entry });
    } catch (err) {
      unreadable.push({ kind: row.kind, ...entry, reason: (err as Error).message });
    }
  }
  return { state, unreadable };
}

/**
 * Moves `rows` from machine_state to machine_state_unreadable (created at the first), in one
 * transaction, with the reason and when. That table has no key: the same machine's row set aside twice
 * (two rollbacks) keeps both.
 */
function keepAside(db: Database.Database, rows: readonly UnreadableRow[], now: number): void {
  if (rows.length === 0) return;
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS machine_state_unreadable (${ROW_COLUMNS}, set_aside_at INTEGER NOT NULL, reason TEXT NOT NULL)`);
    const columns = 'kind, model, version, trained_at, site_id, machine_id, saved_at, state';
    const copy = db.prepare(`INSERT INTO machine_state_unreadable (${columns}, set_aside_at, reason) SELECT ${columns}, ?, ? FROM machine_state WHERE ${WHERE_ROW}`);
    const remove = db.prepare(`DELETE FROM machine_state WHERE ${WHERE_ROW}`);
    for (const { kind, model, version, trainedAt, siteId, machineId, reason } of rows) {
      copy.run(now, reason, kind, model, version, trainedAt, siteId, machineId);
      remove.run(kind, model, version, trainedAt, siteId, machineId);
    }
  })();
}

/**
 * Replaces the format-2 JSON file at `file` by a database of the same states: built beside it (a
 * leftover of a migration killed half-way is started again) and renamed over it. Throws when the JSON
 * is not a state file, and when the migration fails part-way (a JSON listing a machine twice, a full
 * disk): then with nothing left beside the JSON, which is as it was.
 */
function migrateJsonStateFile(file: string, now: number): void {
  const state = decodeJsonStateFile(readFileSync(file, 'utf8'));
  const next = `${file}.migrating`;
  removeDatabase(next);
  try {
    // The default rollback journal: closed, the database is one file, ready to be renamed.
    const db = new Database(next);
    try {
      createTable(db);
      const insert = db.prepare('INSERT INTO machine_state (kind, model, version, trained_at, site_id, machine_id, saved_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      db.transaction(() => {
        for (const kind of KINDS) {
          for (const e of state[FIELDS[kind]] as MachineStateEntry<unknown>[]) insert.run(kind, e.model, e.version, e.trainedAt, e.siteId, e.machineId, now, encodeRowState(e.state));
        }
      })();
    } finally {
      db.close();
    }
    renameSync(next, file);
  } catch (err) {
    // Else the half-built database would stay beside the state file for ever: the caller sets the JSON aside.
    removeDatabase(next);
    throw err;
  }
}

/** The rollback-journal database at `file` and its journal, if there. */
function removeDatabase(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}-journal`, { force: true });
}
