// The stage from closed windows to the outbox, on a real SQLite file: one transaction per turn, a
// failed write keeps the windows and the next flush retries them, and the bound drops the oldest.
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '@pdm/clock';
import { makeTestDataDir } from '@pdm/influx-harness';
import { CloseReason, MachineWindowSchema, create, decodeMachineWindow, type MachineWindow } from '@pdm/proto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type CheckpointRecord, WindowEngine } from '../window/index.js';
import { type CheckpointSource, Outbox, OutboxWriter, type OutboxWriterEvents } from './index.js';
import type { Synchronous } from './outbox.js';
import { PUBLISH_SLICES } from './outbox-writer.js';

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

/** One turn of a boundary fed over many turns: twelve more machines (m0, m1, …) close their window 0. */
function twelvePerTurn(writer: { add(w: MachineWindow): void }) {
  let machine = 0;
  return () => {
    for (let i = 0; i < 12; i++) writer.add(window(`m${machine++}`, 0));
  };
}

function setup(maxPending?: number, source?: CheckpointSource, clock = new ManualClock(T0), sliceMachines?: number) {
  const dir = makeTestDataDir('outbox-writer');
  const path = join(dir, 'outbox.sqlite');
  const outbox = new Outbox({ path, maxBytes: 1_000_000, maxAgeMs: 3_600_000, clock });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => outbox.close());
  let appends = 0;
  /** Each append's windows and checkpoints, by machine. */
  const appended: Array<{ windows: string[]; checkpoints: string[] }> = [];
  /** The synchronous level of the connection after each append that committed: the one it committed at. */
  const committedAt: Synchronous[] = [];
  const counted = {
    append: (...[records, checkpoints = []]: Parameters<Outbox['append']>) => {
      appends++;
      appended.push({ windows: records.map((r) => `${r.machineId}@${(r.windowStart - T0) / 10_000}`), checkpoints: checkpoints.map((c) => c.machineId) });
      const seqs = outbox.append(records, checkpoints);
      committedAt.push(outbox.synchronous());
      return seqs;
    },
  };
  const seen = { written: [] as MachineWindow[][], more: [] as boolean[], failures: [] as Array<[string, number]>, dropped: [] as number[] };
  const events: OutboxWriterEvents = {
    written: (windows, more) => {
      seen.written.push([...windows]);
      seen.more.push(more);
    },
    writeFailed: (error, pending) => seen.failures.push([error.message, pending]),
    dropped: (windows) => seen.dropped.push(windows),
  };
  const writer = new OutboxWriter(counted, events, maxPending, source, sliceMachines);
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
  return { writer, outbox, path, seen, stored, refuseWrites, appends: () => appends, appended, committedAt };
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

  it('writes a boundary of many machines in slices, one per turn: each machine with all its windows, in order, and its checkpoint', async () => {
    const source: CheckpointSource = {
      changedMachines: () => [],
      notWritten: () => undefined,
      checkpoint: (machineId) => ({ machineId, header: Buffer.from(machineId), panes: [], dropAll: false, dropBefore: undefined }),
    };
    const { writer, seen, stored, appended } = setup(undefined, source, undefined, 2);
    // Five machines, two windows each, closed in one turn: a@0 b@0 … e@0 a@1 … e@1.
    const machines = ['a', 'b', 'c', 'd', 'e'];
    for (const n of [0, 1]) for (const m of machines) writer.add(window(m, n));
    await nextTurn();
    expect(appended).toEqual([{ windows: ['a@0', 'b@0', 'a@1', 'b@1'], checkpoints: ['a', 'b'] }]);
    expect(writer.pendingCount()).toBe(6);
    await nextTurn();
    await nextTurn();
    expect(appended.slice(1)).toEqual([
      { windows: ['c@0', 'd@0', 'c@1', 'd@1'], checkpoints: ['c', 'd'] },
      { windows: ['e@0', 'e@1'], checkpoints: ['e'] },
    ]);
    expect(writer.pendingCount()).toBe(0);
    expect(starts(stored())).toEqual(['a@0', 'b@0', 'a@1', 'b@1', 'c@0', 'd@0', 'c@1', 'd@1', 'e@0', 'e@1']);
    expect(seen.written.map(starts)).toEqual(appended.map((a) => a.windows));
    expect(seen.more).toEqual([true, true, false]); // publish once the last slice is written
  });

  it('says to publish what its slices wrote when a later slice fails', async () => {
    const { writer, seen, refuseWrites } = setup(undefined, undefined, undefined, 1);
    writer.add(window('a', 0));
    writer.add(window('b', 0));
    await nextTurn();
    expect(seen.more).toEqual([true]);
    refuseWrites();
    await nextTurn();
    expect(seen.written.map(starts)).toEqual([['a@0'], []]);
    expect(seen.more).toEqual([true, false]);
  });

  it('writes every slice left after a failed write recovers, turn after turn, and says to publish after the last', async () => {
    const { writer, seen, refuseWrites } = setup(undefined, undefined, undefined, 2);
    const allowWrites = refuseWrites();
    for (const m of ['a', 'b', 'c', 'd', 'e']) writer.add(window(m, 0));
    await nextTurn();
    expect(writer.pendingCount()).toBe(5);
    allowWrites();
    writer.flush(); // the tick's retry: one slice now, the rest in the next turns, with nothing more closing
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    expect(seen.written.map(starts)).toEqual([['a@0', 'b@0'], ['c@0', 'd@0'], ['e@0']]);
    expect(writer.pendingCount()).toBe(0);
    expect(seen.more).toEqual([true, true, false]);
  });

  it('says to publish at least every PUBLISH_SLICES slices while windows never stop closing', async () => {
    const { writer, seen } = setup(undefined, undefined, undefined, 2);
    let machine = 0;
    // Three machines close a turn and a slice takes two: the backlog only grows, something is always pending.
    for (let turn = 0; turn < 2 * PUBLISH_SLICES + 2; turn++) {
      for (let i = 0; i < 3; i++) writer.add(window(`m${machine++}`, 0));
      await nextTurn();
    }
    expect(seen.more.length).toBeGreaterThan(2 * PUBLISH_SLICES);
    const calls = seen.more.map((more, i) => (more ? -1 : i)).filter((i) => i >= 0);
    expect(calls.slice(0, 2)).toEqual([PUBLISH_SLICES - 1, 2 * PUBLISH_SLICES - 1]);
  });

  it('bounds a slice by windows too: a machine goes whole with its checkpoint, alone when it has more windows than the bound', async () => {
    const source: CheckpointSource = {
      changedMachines: () => [],
      notWritten: () => undefined,
      checkpoint: (machineId) => ({ machineId, header: Buffer.from(machineId), panes: [], dropAll: false, dropBefore: undefined }),
    };
    const { outbox, seen } = setup(undefined, source);
    const appended: Array<{ windows: string[]; checkpoints: string[] }> = [];
    const append: Outbox['append'] = (records, checkpoints = []) => {
      appended.push({ windows: records.map((r) => `${r.machineId}@${(r.windowStart - T0) / 10_000}`), checkpoints: checkpoints.map((c) => c.machineId) });
      return outbox.append(records, checkpoints);
    };
    const writer = new OutboxWriter({ append }, {}, undefined, source, 100, 3);
    // After an outage: a and b two windows each, c five, d one, closed in one turn.
    for (const [m, windows] of [['a', 2], ['b', 2], ['c', 5], ['d', 1]] as const) for (let n = 0; n < windows; n++) writer.add(window(m, n));
    for (let turn = 0; turn < 5; turn++) await nextTurn();
    expect(appended).toEqual([
      { windows: ['a@0', 'a@1'], checkpoints: ['a'] }, // b's two would make four
      { windows: ['b@0', 'b@1'], checkpoints: ['b'] },
      { windows: ['c@0', 'c@1', 'c@2', 'c@3', 'c@4'], checkpoints: ['c'] }, // more than the bound: alone
      { windows: ['d@0'], checkpoints: ['d'] },
    ]);
    expect(writer.pendingCount()).toBe(0);
    expect(seen.written).toEqual([]);

    // A periodic checkpoint never takes a machine whose windows did not fit into the slice.
    const periodic = new OutboxWriter({ append }, {}, undefined, { ...source, changedMachines: () => ['e', 'f'] }, 100, 1);
    appended.length = 0;
    for (const [m, n] of [['e', 0], ['f', 0], ['f', 1]] as const) periodic.add(window(m, n));
    expect(periodic.checkpoint()).toBe(true);
    expect(appended).toEqual([{ windows: ['e@0'], checkpoints: ['e'] }]);
    await nextTurn();
    expect(appended[1]).toEqual({ windows: ['f@0', 'f@1'], checkpoints: ['f'] });
  });

  it('gathers windows that keep closing by the dozen turn after turn into full slices', async () => {
    const { writer, appended } = setup(undefined, undefined, undefined, 40);
    const closeTwelve = twelvePerTurn(writer);
    closeTwelve();
    await nextTurn();
    expect(appended.map((a) => a.windows.length)).toEqual([12]); // the first turn's, at once
    for (let turn = 0; turn < 4; turn++) {
      closeTwelve();
      await nextTurn();
    }
    // 48 closed after the first write: gathered until a slice of 40 was full, the rest once no more came.
    expect(appended.map((a) => a.windows.length)).toEqual([12, 40]);
    await nextTurn();
    expect(appended.map((a) => a.windows.length)).toEqual([12, 40, 8]);
    expect(appended.flatMap((a) => a.windows)).toEqual(Array.from({ length: 60 }, (_, i) => `m${i}@0`));
  });

  it('says to publish a boundary fed over several turns once its windows stopped closing: one publish for all its slices', async () => {
    const { writer, seen } = setup(undefined, undefined, undefined, 40);
    const closeTwelve = twelvePerTurn(writer);
    for (let turn = 0; turn < 5; turn++) {
      closeTwelve();
      await nextTurn();
    }
    await nextTurn();
    // Slices of 12, 40 and 8 (as above): the first two while windows were still closing.
    expect(seen.written.map((w) => w.length)).toEqual([12, 40, 8]);
    expect(seen.more).toEqual([true, true, false]);

    // Twelve machines close a turn and a slice takes twelve: nothing is left pending after a slice,
    // yet the burst goes on; once a turn closes none, the writer says to publish with no windows.
    const full = setup(undefined, undefined, undefined, 12);
    const fullCloseTwelve = twelvePerTurn(full.writer);
    for (let turn = 0; turn < 3; turn++) {
      fullCloseTwelve();
      await nextTurn();
    }
    expect(full.seen.more).toEqual([true, true, true]);
    await nextTurn();
    expect(full.seen.written.map((w) => w.length)).toEqual([12, 12, 12, 0]);
    expect(full.seen.more).toEqual([true, true, true, false]);
    await nextTurn();
    expect(full.seen.more).toHaveLength(4); // said once
  });

  it('leaves the publish of a slice the tick writes during a burst to the burst\'s next turn', async () => {
    const { writer, seen } = setup(undefined, undefined, undefined, 40);
    const closeTwelve = twelvePerTurn(writer);
    closeTwelve();
    await nextTurn();
    closeTwelve();
    writer.flush(); // the tick, between two turns of the burst
    expect(seen.more).toEqual([true, true]);
    await nextTurn(); // twelve closed, none pending: the writer waits a turn for more
    await nextTurn(); // none closed: say to publish
    expect(seen.written.map((w) => w.length)).toEqual([12, 12, 0]);
    expect(seen.more).toEqual([true, true, false]);
  });

  it('leaves the publish to the burst when the tick writes its first windows before its first turn: one publish for the boundary', async () => {
    // The boundary's first readings arrive in the timers phase and the tick (or the periodic
    // checkpoint) runs right after them: its slice takes every pending window before the writer's
    // first turn. That turn must see a burst starting, not windows that stopped closing: saying to
    // publish there sent the boundary in pieces (each confirmation then publishes what was written since).
    const { writer, seen } = setup(undefined, undefined, undefined, 40);
    const closeTwelve = twelvePerTurn(writer);
    closeTwelve();
    writer.flush(); // the tick, in the same phase as the first readings
    await nextTurn(); // twelve closed, none pending: the writer waits a turn for more
    closeTwelve();
    await nextTurn();
    closeTwelve();
    await nextTurn();
    await nextTurn(); // none closed: write the rest and say to publish
    await nextTurn();
    expect(seen.written.map((w) => w.length)).toEqual([12, 24]);
    expect(seen.more).toEqual([true, false]);
  });

  it('says to publish everything written at a stop, even with a turn scheduled and no machine checkpoint taken', async () => {
    // Windows closing by the dozen, a turn scheduled for the next twelve: the stop writes them, and
    // the publisher, stopped right after, never sees that turn.
    const { writer, seen } = setup(undefined, undefined, undefined, 40);
    const closeTwelve = twelvePerTurn(writer);
    closeTwelve();
    await nextTurn();
    closeTwelve();
    expect(writer.checkpoint([])).toBe(true); // the stop: the engine held no machine to suspend
    expect(seen.written.map((w) => w.length)).toEqual([12, 12]);
    expect(seen.more).toEqual([true, false]);

    // Nothing pending at the stop: what the slices that said `more` wrote goes out at the stop.
    const idle = setup(undefined, undefined, undefined, 40);
    twelvePerTurn(idle.writer)();
    await nextTurn();
    expect(idle.writer.checkpoint([])).toBe(true);
    expect(idle.seen.written.map((w) => w.length)).toEqual([12, 0]);
    expect(idle.seen.more).toEqual([true, false]);
  });

  it('gathers a burst until its slice is full by machines, not by windows: machines closing two windows each fill a slice of 20 machines with 40', async () => {
    const { writer, appended } = setup(undefined, undefined, undefined, 20);
    let machine = 0;
    /** A turn closing two windows each of six more machines. */
    const closeSix = () => {
      for (let i = 0; i < 6; i++, machine++) for (const n of [0, 1]) writer.add(window(`m${machine}`, n));
    };
    closeSix();
    await nextTurn();
    expect(appended.map((a) => a.windows.length)).toEqual([12]); // the first turn's, at once
    for (let turn = 0; turn < 4; turn++) {
      closeSix();
      await nextTurn();
    }
    // 24 machines (48 windows) closed after the first write: gathered until 20 machines were pending, the rest once no more came.
    expect(appended.map((a) => a.windows.length)).toEqual([12, 40]);
    await nextTurn();
    expect(appended.map((a) => a.windows.length)).toEqual([12, 40, 8]);
    expect(appended.flatMap((a) => a.windows)).toEqual(Array.from({ length: 30 }, (_, m) => [`m${m}@0`, `m${m}@1`]).flat());
  });

  it('writes a periodic checkpoint of many machines in slices and reports it once, when the last is written', async () => {
    const changed = ['a', 'b', 'c', 'd', 'e'];
    const source: CheckpointSource = {
      changedMachines: () => changed,
      notWritten: () => undefined,
      checkpoint: (machineId) => ({ machineId, header: Buffer.from(machineId), panes: [], dropAll: false, dropBefore: undefined }),
    };
    const { writer, outbox, appended } = setup(undefined, source, undefined, 2);
    const reported: number[] = [];
    const slicedWriter = new OutboxWriter({ append: (...args) => outbox.append(...args) }, { checkpointed: (machines) => reported.push(machines) }, undefined, source, 2);
    expect(slicedWriter.checkpoint()).toBe(true); // the first slice, now
    expect(changed.map((m) => outbox.checkpointOf(m) !== undefined)).toEqual([true, true, false, false, false]);
    expect(reported).toEqual([]);
    await nextTurn();
    await nextTurn();
    expect(changed.map((m) => outbox.checkpointOf(m) !== undefined)).toEqual([true, true, true, true, true]);
    expect(reported).toEqual([5]);
    // A window closed meanwhile goes in the next slice with its machine's checkpoint, before the machines still due.
    writer.checkpoint();
    writer.add(window('z', 0));
    await nextTurn();
    await nextTurn();
    expect(appended).toEqual([
      { windows: [], checkpoints: ['a', 'b'] },
      { windows: ['z@0'], checkpoints: ['z', 'c'] },
      { windows: [], checkpoints: ['d', 'e'] },
    ]);
  });

  it('commits a slice of checkpoints alone without an fsync (synchronous=NORMAL), one with windows with it (FULL); a kill after loses no checkpoint', async () => {
    let taken = 0;
    const source: CheckpointSource = {
      changedMachines: () => ['a', 'b'],
      notWritten: () => undefined,
      checkpoint: (machineId) => ({ machineId, header: Buffer.from(`${machineId}-${++taken}`), panes: [], dropAll: false, dropBefore: undefined }),
    };
    const { writer, path, appended, committedAt } = setup(undefined, source);
    writer.add(window('a', 0));
    await nextTurn(); // a@0 with a-1
    expect(writer.checkpoint()).toBe(true); // a-2, b-3 alone
    writer.add(window('b', 1));
    await nextTurn(); // b@1 with b-4
    expect(writer.checkpoint()).toBe(true); // a-5, b-6 alone
    expect(appended).toEqual([
      { windows: ['a@0'], checkpoints: ['a'] },
      { windows: [], checkpoints: ['a', 'b'] },
      { windows: ['b@1'], checkpoints: ['b'] },
      { windows: [], checkpoints: ['a', 'b'] },
    ]);
    expect(committedAt).toEqual(['FULL', 'NORMAL', 'FULL', 'NORMAL']);

    // The process is killed here (the database never closed): what the files hold is what a restart finds.
    const crashDir = makeTestDataDir('outbox-writer-kill');
    cleanups.push(() => rmSync(crashDir, { recursive: true, force: true }));
    const copy = join(crashDir, 'outbox.sqlite');
    for (const suffix of ['', '-wal']) if (existsSync(path + suffix)) copyFileSync(path + suffix, copy + suffix);
    const restarted = new Outbox({ path: copy, maxBytes: 1_000_000, maxAgeMs: 3_600_000, clock: new ManualClock(T0) });
    cleanups.push(() => restarted.close());
    expect(restarted.checkpoints().map((c) => Buffer.from(c.header).toString()).sort()).toEqual(['a-5', 'b-6']);
    expect(starts(restarted.peek(0, 100).map((entry) => decodeMachineWindow(entry.payload)))).toEqual(['a@0', 'b@1']);
  });

  it('loses nothing when the gateway dies between two slices of a boundary: every committed window is accounted for by its checkpoint, the others close again the same', async () => {
    const clock = new ManualClock(T0);
    const machines = Array.from({ length: 5 }, (_, i) => `m${i}`);
    const engineFor = (outbox: Outbox, emit: (w: MachineWindow) => void) =>
      new WindowEngine({ gatewayId: 'gw', siteId: 'site', clock, allowedLatenessMs: 0, recall: (id) => outbox.checkpointOf(id) }, emit);
    const source: CheckpointSource = {
      changedMachines: () => engine.changedMachines(),
      checkpoint: (machineId, complete) => engine.checkpoint(machineId, complete),
      notWritten: (machineId) => engine.checkpointNotWritten(machineId),
    };
    const { writer, outbox, path, stored } = setup(undefined, source, clock, 2);
    const emitted: MachineWindow[] = [];
    const engine = engineFor(outbox, (w) => {
      emitted.push(w);
      writer.add(w);
    });
    machines.forEach((m, i) => {
      engine.add(m, 's', T0 + 1_000, i);
      engine.add(m, 's', T0 + 2_000, 10 * i);
    });
    writer.checkpoint(); // the open windows, stored in three slices
    await nextTurn();
    await nextTurn();
    for (const m of machines) engine.add(m, 's', T0 + 10_000, 100); // closes every machine's [0, 10 s)
    await nextTurn(); // the first slice of the boundary: m0 and m1
    // The process dies here: what the disk holds is what a restart finds.
    const crashDir = makeTestDataDir('outbox-writer-crash');
    cleanups.push(() => rmSync(crashDir, { recursive: true, force: true }));
    const copy = join(crashDir, 'outbox.sqlite');
    for (const suffix of ['', '-wal']) if (existsSync(path + suffix)) copyFileSync(path + suffix, copy + suffix);
    await nextTurn();
    await nextTurn();
    expect(starts(stored())).toEqual(machines.map((m) => `${m}@0`)); // the original carried on: every window written

    const restarted = new Outbox({ path: copy, maxBytes: 1_000_000, maxAgeMs: 3_600_000, clock });
    cleanups.push(() => restarted.close());
    const committed = restarted.peek(0, 100).map((entry) => decodeMachineWindow(entry.payload));
    expect(starts(committed)).toEqual(['m0@0', 'm1@0']);
    const again: MachineWindow[] = [];
    const engine2 = engineFor(restarted, (w) => again.push(w));
    for (const checkpoint of restarted.checkpoints()) expect(engine2.restore(checkpoint)).toBe(true);
    // The readings after the crash: m0 and m1 checkpointed their closed window (it does not close
    // again); the other three close theirs again, with what they held.
    for (const m of machines) engine2.add(m, 's', T0 + 10_000, 100);
    expect([...committed, ...again]).toEqual(emitted);
  });
});
