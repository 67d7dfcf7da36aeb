// The stage from closed windows to the outbox, on a real SQLite file: one transaction per turn, a
// failed write keeps the windows and the next flush retries them, and the bound drops the oldest.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '@pdm/clock';
import { makeTestDataDir } from '@pdm/influx-harness';
import { CloseReason, MachineWindowSchema, create, decodeMachineWindow, type MachineWindow } from '@pdm/proto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type CheckpointRecord, WindowEngine } from '../window/index.js';
import { type CheckpointSource, Outbox, OutboxWriter, type OutboxWriterEvents } from './index.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const window = (machineId: string, n: number): MachineWindow =>
  create(MachineWindowSchema, {
    gatewayId: 'gw',
    siteId: 'site',
    machineId,
    windowStart: BigInt(T0 + n * 10_000),
    windowEnd: BigInt(T0 + (n + 1) * 10_000),
    featureVersion: 1,
    closeReason: CloseReason.WATERMARK,
    sensors: [{ sensorId: 's', count: n + 1, mean: n }],
  });

function setup(maxPending?: number, source?: CheckpointSource, clock = new ManualClock(T0)) {
  const dir = makeTestDataDir('outbox-writer');
  const path = join(dir, 'outbox.sqlite');
  const outbox = new Outbox({ path, maxBytes: 1_000_000, maxAgeMs: 3_600_000, clock });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => outbox.close());
  let appends = 0;
  const counted = { append: (...args: Parameters<Outbox['append']>) => (appends++, outbox.append(...args)) };
  const seen = { written: [] as MachineWindow[][], failures: [] as Array<[string, number]>, dropped: [] as number[] };
  const events: OutboxWriterEvents = {
    written: (windows) => seen.written.push([...windows]),
    writeFailed: (error, pending) => seen.failures.push([error.message, pending]),
    dropped: (windows) => seen.dropped.push(windows),
  };
  const writer = new OutboxWriter(counted, events, maxPending, source);
  /** What the outbox file holds, decoded, in append order. */
  const stored = () => outbox.peek(0, 1_000).map((entry) => decodeMachineWindow(entry.payload));
  /**
   * Makes every insert into the outbox fail, as on a full disk: a trigger set from a second
   * connection to the same file. The returned function lifts it.
   */
  const refuseWrites = () => {
    const other = new Database(path);
    other.exec("CREATE TRIGGER refuse_writes BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    return () => {
      other.exec('DROP TRIGGER refuse_writes');
      other.close();
    };
  };
  return { writer, outbox, seen, stored, refuseWrites, appends: () => appends };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const starts = (windows: readonly MachineWindow[]) => windows.map((w) => `${w.machineId}@${(Number(w.windowStart) - T0) / 10_000}`);

describe('OutboxWriter', () => {
  it('writes the windows closed in one turn in one append, in close order, on the next turn', async () => {
    const { writer, seen, stored, appends } = setup();
    writer.add(window('a', 0));
    writer.add(window('b', 0));
    writer.add(window('a', 1));
    expect(stored()).toEqual([]); // nothing written inside the turn that closed them
    await nextTurn();
    expect(appends()).toBe(1);
    expect(starts(stored())).toEqual(['a@0', 'b@0', 'a@1']);
    expect(stored()[2]).toEqual(window('a', 1)); // the encoded window, byte for byte
    expect(seen.written.map(starts)).toEqual([['a@0', 'b@0', 'a@1']]);
    expect(writer.pendingCount()).toBe(0);
    expect(writer.writable()).toBe(true);
  });

  it('keeps the windows of a failed append and writes them on a later flush', async () => {
    const { writer, seen, stored, refuseWrites } = setup();
    const allowWrites = refuseWrites();
    writer.add(window('a', 0));
    writer.add(window('a', 1));
    await nextTurn();
    expect(seen.failures).toEqual([['database or disk is full', 2]]);
    expect(writer.writable()).toBe(false);
    expect(writer.pendingCount()).toBe(2);
    expect(stored()).toEqual([]);
    expect(seen.written).toEqual([]);

    writer.add(window('a', 2));
    writer.flush(); // the tick's retry, still refused
    expect(seen.failures.map(([, pending]) => pending)).toEqual([2, 3]);

    allowWrites();
    writer.flush();
    expect(starts(stored())).toEqual(['a@0', 'a@1', 'a@2']);
    expect(seen.written.map(starts)).toEqual([['a@0', 'a@1', 'a@2']]);
    expect(writer.writable()).toBe(true);
    expect(writer.pendingCount()).toBe(0);
    expect(seen.dropped).toEqual([]);
  });

  it('drops the oldest windows beyond its bound while the outbox cannot be written, and counts them', async () => {
    const { writer, seen, stored, refuseWrites } = setup(3);
    const allowWrites = refuseWrites();
    for (let n = 0; n < 5; n++) writer.add(window('a', n));
    await nextTurn();
    expect(seen.dropped).toEqual([2]);
    expect(writer.pendingCount()).toBe(3);
    writer.add(window('a', 5));
    writer.flush();
    expect(seen.dropped).toEqual([2, 1]);

    allowWrites();
    writer.flush();
    expect(starts(stored())).toEqual(['a@3', 'a@4', 'a@5']);
  });

  it('does nothing when there is nothing to write', async () => {
    const { writer, seen, appends } = setup();
    writer.flush();
    await nextTurn();
    expect(appends()).toBe(0);
    expect(seen.written).toEqual([]);
  });

  it('writes each machine\'s checkpoint with its windows, and after a failed write takes it again complete', async () => {
    const taken: string[] = [];
    const source: CheckpointSource = {
      changedMachines: () => ['b'],
      notWritten: () => undefined,
      checkpoint: (machineId, complete): CheckpointRecord => {
        taken.push(`${machineId}${complete ? ' complete' : ''}`);
        return { machineId, header: Buffer.from(`${machineId}-${taken.length}`), panes: [], dropAll: complete, dropBefore: undefined };
      },
    };
    const { writer, outbox, refuseWrites } = setup(undefined, source);
    const allowWrites = refuseWrites();
    writer.add(window('a', 0));
    await nextTurn(); // the window's machine only
    writer.checkpoint(); // and every changed one
    expect(taken).toEqual(['a', 'a complete', 'b']);
    allowWrites();
    writer.add(window('a', 1));
    await nextTurn();
    expect(taken).toEqual(['a', 'a complete', 'b', 'a complete', 'b complete']);
    expect(Buffer.from(outbox.checkpointOf('b')!.header).toString()).toBe('b-5');
    writer.checkpoint();
    expect(taken.slice(5)).toEqual(['b']); // written: incremental again
  });

  it('writes the failed checkpoint of a machine the engine forgot before the retry', async () => {
    let held = true;
    const source: CheckpointSource = {
      changedMachines: () => [],
      notWritten: () => undefined,
      checkpoint: (machineId): CheckpointRecord | undefined =>
        held ? { machineId, header: Buffer.from('final'), panes: [{ paneStart: 0, stats: new Uint8Array([1]) }], dropAll: false, dropBefore: undefined } : undefined,
    };
    const { writer, outbox, refuseWrites } = setup(undefined, source);
    const allowWrites = refuseWrites();
    writer.add(window('a', 0));
    await nextTurn(); // fails: a's checkpoint was taken, the engine counts it as saved
    held = false; // and forgets a
    allowWrites();
    writer.flush();
    const stored = outbox.checkpointOf('a')!;
    expect([Buffer.from(stored.header).toString(), stored.panes.map((p) => [p.paneStart, p.stats[0]])]).toEqual(['final', [[0, 1]]]);
  });
  it('keeps a machine whose checkpoint could not be written until one is: its next reading revises its window, never reuses revision 0', async () => {
    const clock = new ManualClock(T0);
    const source: CheckpointSource = {
      changedMachines: () => engine.changedMachines(),
      checkpoint: (machineId, complete) => engine.checkpoint(machineId, complete),
      notWritten: (machineId) => engine.checkpointNotWritten(machineId),
    };
    const { writer, outbox, stored, refuseWrites } = setup(undefined, source, clock);
    const engine = new WindowEngine(
      { gatewayId: 'gw', siteId: 'site', clock, idleTimeoutMs: 30_000, evictAfterMs: 60_000, lateMode: 'revise', recall: (id) => outbox.checkpointOf(id) },
      (w) => writer.add(w),
    );
    engine.add('m1', 's', T0 + 1_000, 1);
    expect(writer.checkpoint()).toBe(true); // [0, 10 s) open, stored
    const allowWrites = refuseWrites(); // the disk fills
    clock.advance(60_000); // the idle timeout closes [0, 10 s) as revision 0
    engine.tick();
    await nextTurn(); // its write, with m1's checkpoint, fails
    expect(writer.checkpoint()).toBe(false);
    clock.advance(1_000);
    engine.tick(); // m1 is unseen for evictAfterMs, but its checkpoint is unsaved: it stays
    expect(engine.metrics().machines).toBe(1);

    expect(engine.add('m1', 's', T0 + 2_000, 2)).toBe('late');
    engine.tick();
    allowWrites();
    await nextTurn();
    // By hand: [1] → count 1, mean 1; [1, 2] → count 2, mean 1.5.
    const windows = stored().map((w) => [(Number(w.windowStart) - T0) / 1_000, w.revision, w.closeReason, w.sensors[0]?.count, w.sensors[0]?.mean]);
    expect(windows).toEqual([
      [0, 0, CloseReason.IDLE_TIMEOUT, 1, 1],
      [0, 1, CloseReason.LATE_REVISION, 2, 1.5],
    ]);
    // Saved now: m1 goes once unseen for evictAfterMs, and a reading of it recalls the checkpoint written.
    expect(writer.checkpoint()).toBe(true);
    clock.advance(60_000);
    engine.tick();
    expect(engine.metrics().machines).toBe(0);
    expect(engine.add('m1', 's', T0 + 3_000, 3)).toBe('late');
    engine.tick();
    await nextTurn();
    // By hand: [1, 2, 3] → count 3, mean 2.
    expect(stored().map((w) => [w.revision, w.sensors[0]?.count, w.sensors[0]?.mean])).toEqual([[0, 1, 1], [1, 2, 1.5], [2, 3, 2]]);
  });
});
