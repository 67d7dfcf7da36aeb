import type { CheckpointPane, CheckpointRecord, StoredCheckpoint } from '../checkpoint.js';
import type { WindowEngine } from '../engine.js';

/**
 * The outbox's checkpoint tables in memory, for engine tests: a header per machine, a row per
 * (machine, pane start), each checkpoint applied as the outbox applies it.
 */
export class CheckpointStore {
  private readonly headers = new Map<string, Uint8Array>();
  private readonly panes = new Map<string, Map<number, CheckpointPane>>();
  /** Bytes of state (headers and pane rows) applied so far. */
  bytesWritten = 0;

  apply(c: CheckpointRecord): void {
    let rows = this.panes.get(c.machineId);
    if (rows === undefined || c.dropAll) this.panes.set(c.machineId, (rows = new Map<number, CheckpointPane>()));
    for (const start of rows.keys()) if (c.dropBefore !== undefined && start < c.dropBefore) rows.delete(start);
    for (const pane of c.panes) rows.set(pane.paneStart, pane);
    this.headers.set(c.machineId, c.header);
    this.bytesWritten += c.panes.reduce((sum, p) => sum + p.stats.byteLength, c.header.byteLength);
  }

  /** The periodic checkpoint: every machine changed since its last one. */
  save(engine: WindowEngine): void {
    for (const id of engine.changedMachines()) this.apply(engine.checkpoint(id)!);
  }

  get(machineId: string): StoredCheckpoint | undefined {
    const header = this.headers.get(machineId);
    return header && { machineId, header, panes: [...(this.panes.get(machineId)?.values() ?? [])] };
  }

  all(): StoredCheckpoint[] {
    return [...this.headers.keys()].map((id) => this.get(id)!);
  }

  paneRows(machineId: string): number[] {
    return [...(this.panes.get(machineId)?.keys() ?? [])];
  }
}
