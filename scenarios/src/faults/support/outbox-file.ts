// The windows a gateway had committed to its outbox, read from the SQLite file itself after the
// gateway died (read-only: the file is left exactly as the next gateway will find it).
import Database from 'better-sqlite3';
import { type WindowKey, windowKey } from './windows.js';

export function windowsInOutbox(path: string): WindowKey[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT machine_id, window_start FROM outbox').all() as Array<{ machine_id: string; window_start: number }>;
    return rows.map((r) => windowKey(r.machine_id, Number(r.window_start)));
  } finally {
    db.close();
  }
}
