import { CloseReason, MachineWindowSchema, toBinary, type MachineWindow } from '@pdm/proto';
import type { CheckpointRecord } from './checkpoint.js';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_VERSION, encodeMachineHeader, encodePaneRow } from './checkpoint.js';
import type { WindowEngineOptionsInput } from './options.js';
import { Pane } from './state.js';
import { CheckpointStore } from './test-support/checkpoint-store.js';
import { bounds, harness, T0 } from './test-support/engine-harness.js';
import { seededRandom, twoPassStatistics } from './test-support/two-pass.js';

interface Reading {
  machine: string;
  sensor: string;
  ts: number;
  value: number;
}

/** Two machines, three sensors, readings arriving up to 4 s out of order (some late with lateness 2 s). */
function readings(seed: number): Reading[] {
  const random = seededRandom(seed);
  const out: Reading[] = [];
  for (let t = 0; t < 80_000; t += 50 + random() * 300) {
    out.push({ machine: random() < 0.5 ? 'm1' : 'm2', sensor: ['a', 'b', 'c'][Math.floor(random() * 3)]!, ts: T0 + t - random() * 4_000, value: 20 + 5 * random() });
  }
  return out;
}

const hex = (windows: readonly MachineWindow[]) => windows.map((w) => Buffer.from(toBinary(MachineWindowSchema, w)).toString('hex'));

/** Feeds readings to a harness, ticking once a second of its clock (and checkpointing into `store`). */
function feed(h: ReturnType<typeof harness>, rs: readonly Reading[], store?: CheckpointStore): void {
  for (const r of rs) {
    h.engine.add(r.machine, r.sensor, r.ts, r.value);
    if (h.clock.now() < r.ts - 1_000) {
      h.clock.set(Math.floor(r.ts));
      h.engine.tick();
      store?.save(h.engine);
    }
  }
}

/** The store holding `checkpoints`, applied in order. */
function storeOf(...checkpoints: Array<CheckpointRecord | undefined>): CheckpointStore {
  const store = new CheckpointStore();
  for (const c of checkpoints) store.apply(c!);
  return store;
}

describe('checkpoints', () => {
  it('are stored in the version-2 layout, byte for byte (checkpoint.ts), whatever path encodes them', () => {
    // Built by hand from the layout: little-endian u32 counts and lengths, float64 numbers, UTF-8 ids.
    const bytes = (...parts: Array<['u32' | 'f64', number] | string>) => {
      const out: number[] = [];
      const put = (kind: 'u32' | 'f64', v: number) => {
        const b = Buffer.alloc(kind === 'u32' ? 4 : 8);
        if (kind === 'u32') b.writeUInt32LE(v);
        else b.writeDoubleLE(v);
        out.push(...b);
      };
      for (const part of parts) {
        if (typeof part === 'string') {
          const utf8 = Buffer.from(part, 'utf8');
          put('u32', utf8.length);
          out.push(...utf8);
        } else put(...part);
      }
      return Buffer.from(out).toString('hex');
    };
    const u32 = (v: number): ['u32', number] => ['u32', v];
    const f64 = (v: number): ['f64', number] => ['f64', v];
    /** A pane row entry: id, then n, shift, shiftedMean, m2, m3, m4, min, max, late. */
    const pane = (id: string, ...stats: number[]) => [id, ...stats.map(f64)];

    const h = harness({ lateMode: 'revise' });
    h.engine.add('m1', 'a', T0 + 1_000, 1);
    h.engine.addBlock('m1', 'é', T0 + 2_000, 1, [4, 6]); // a non-ASCII id; a block rate of 1 Hz
    h.engine.add('m1', 'a', T0 + 11_000, 2);
    h.engine.add('m1', 'a', T0 + 22_000, 3); // closes [0, 10 s) and [10 s, 20 s); 'a' learns the count of its complete pane at 10 s
    expect(h.engine.add('m1', 'a', T0 + 5_000, 7)).toBe('late'); // [0, 10 s) is dirty
    const c = h.engine.checkpoint('m1')!;

    expect(Buffer.from(c.header).toString('hex')).toBe(bytes(
      u32(CHECKPOINT_VERSION), f64(10_000), f64(10_000), f64(T0 + 22_000), f64(T0 + 20_000),
      f64(T0), // trailFrom: 'é' trails within maxSensorLagMs, its watermark in the pane at 0
      u32(4), f64(T0), f64(0), f64(T0 + 10_000), f64(0), // revisions: [start, revision] pairs
      u32(1), f64(T0), // dirty
      u32(0), // filling
      u32(2),
      'a', f64(T0 + 22_000), f64(T0), f64(0), u32(1), f64(1),
      'é', f64(T0 + 3_000), f64(T0), f64(1), u32(0),
    ));
    expect(c.panes.map((p) => [p.paneStart - T0, Buffer.from(p.stats).toString('hex')])).toEqual([
      // By hand: 'a' took 1 and 7 (mean 4: deviations ±3), 'é' 4 and 6 (deviations ±1).
      [0, bytes(u32(2), ...pane('a', 2, 1, 3, 18, 0, 162, 1, 7, 1), ...pane('é', 2, 4, 1, 2, 0, 2, 4, 6, 0))],
      [10_000, bytes(u32(1), ...pane('a', 1, 2, 0, 0, 0, 0, 2, 2, 0))],
      [20_000, bytes(u32(1), ...pane('a', 1, 3, 0, 0, 0, 0, 3, 3, 0))],
    ]);
    expect([c.dropAll, c.dropBefore]).toEqual([true, undefined]);
  });

  for (const options of [{ lateMode: 'revise' }, { lateMode: 'count' }, { lateMode: 'revise', hopMs: 5_000 }] as WindowEngineOptionsInput[]) {
    it(`written incrementally and restored into a new engine, carry on exactly as the engine that never stopped (${JSON.stringify(options)})`, () => {
      for (const seed of [1, 2, 3]) {
        const all = readings(seed);
        const cut = Math.floor(all.length * (0.3 + 0.1 * seed));
        const uninterrupted = harness(options);
        feed(uninterrupted, all);
        uninterrupted.engine.flush();

        const before = harness(options);
        const store = new CheckpointStore();
        feed(before, all.slice(0, cut), store); // a checkpoint every second: only what changed each time
        store.save(before.engine);
        expect(before.engine.changedMachines()).toEqual([]); // taking a checkpoint marks the machine saved
        const after = harness(options);
        after.clock.set(before.clock.now());
        for (const stored of store.all()) expect(after.engine.restore(stored)).toBe(true);
        expect(after.engine.metrics()).toMatchObject({ machinesRestored: 2, sensors: before.engine.metrics().sensors, retainedPanes: before.engine.metrics().retainedPanes });
        feed(after, all.slice(cut));
        after.engine.flush();

        expect(hex([...before.windows, ...after.windows])).toEqual(hex(uninterrupted.windows));
      }
    });
  }

  it('after a stop, late data for a window sent as a SHUTDOWN partial goes out as revision + 1 (lateMode revise)', () => {
    const before = harness({ lateMode: 'revise' });
    for (let i = 0; i < 5; i++) before.engine.add('m1', 's', T0 + i * 1_000, i);
    before.engine.flush();
    const saved = storeOf(before.engine.checkpoint('m1')).get('m1')!;
    const after = harness({ lateMode: 'revise' });
    after.engine.restore(saved);
    for (let i = 5; i < 10; i++) expect(after.engine.add('m1', 's', T0 + i * 1_000, i)).toBe('late');
    after.engine.tick();
    expect([...before.windows, ...after.windows].map((w) => [bounds(w), w.revision, w.sensors[0]?.count, w.sensors[0]?.mean])).toEqual([
      [[0, 10_000], 0, 5, 2],
      [[0, 10_000], 1, 10, 4.5],
    ]);
  });

  for (const lateMode of ['count', 'revise'] as const) {
    it(`resumes after a suspend: the SHUTDOWN partial fills on and closes again as revision 1 (lateMode ${lateMode})`, () => {
      const before = harness({ lateMode });
      for (let i = 0; i < 5; i++) before.engine.add('m1', 's', T0 + i * 1_000, i);
      const saved = before.engine.suspend();
      expect(before.engine.metrics()).toMatchObject({ openWindows: 0, retainedPanes: lateMode === 'revise' ? 1 : 0 });
      const after = harness({ lateMode });
      for (const stored of storeOf(...saved).all()) after.engine.restore(stored);
      expect(after.engine.metrics().openWindows).toBe(1);
      for (let i = 5; i < 10; i++) expect(after.engine.add('m1', 's', T0 + i * 1_000, i)).toBe('accepted');
      after.engine.add('m1', 's', T0 + 12_000, 0); // the watermark reaches 10 s
      expect([...before.windows, ...after.windows].map((w) => [bounds(w), w.revision, w.closeReason, w.sensors[0]?.count, w.sensors[0]?.mean])).toEqual([
        [[0, 10_000], 0, CloseReason.SHUTDOWN, 5, 2],
        [[0, 10_000], 1, CloseReason.WATERMARK, 10, 4.5],
      ]);
    });
  }

  it('resumes after a suspend a SHUTDOWN partial whose revision counter the flush would have pruned: it closes again as revision 1, not 0', () => {
    // 1-minute windows (reviseHorizonMs 60 s): stopping with [0, 60) and [60, 120) open closes both, and
    // the frontier then at 120 s prunes [0, 60)'s counter, which the checkpoint must keep.
    const M0 = T0 - (T0 % 60_000);
    const before = harness({ windowMs: 60_000 });
    before.engine.add('m1', 's', M0 + 50_000, 1);
    before.engine.add('m1', 's', M0 + 61_000, 2); // watermark 59 s: [0, 60) still open
    const saved = before.engine.suspend();
    const after = harness({ windowMs: 60_000 });
    for (const stored of storeOf(...saved).all()) after.engine.restore(stored);
    expect(after.engine.add('m1', 's', M0 + 55_000, 3)).toBe('accepted');
    after.engine.add('m1', 's', M0 + 125_000, 4); // watermark 123 s: both close
    const minutes = (w: MachineWindow) => [(Number(w.windowStart) - M0) / 1_000, (Number(w.windowEnd) - M0) / 1_000];
    expect([...before.windows, ...after.windows].map((w) => [minutes(w), w.revision, w.closeReason, w.sensors[0]?.count])).toEqual([
      [[0, 60], 0, CloseReason.SHUTDOWN, 1],
      [[60, 120], 0, CloseReason.SHUTDOWN, 1],
      [[0, 60], 1, CloseReason.WATERMARK, 2],
      [[60, 120], 1, CloseReason.WATERMARK, 1],
    ]);
  });

  it('starts a restored machine\'s idle clock when the host takes readings, not at the restore: a slow start-up times out no restored window', () => {
    const before = harness(); // idleTimeoutMs 30 s
    for (let i = 0; i < 5; i++) before.engine.add('m1', 's', T0 + i * 1_000, i);
    const saved = before.engine.suspend();
    const after = harness();
    for (const stored of storeOf(...saved).all()) after.engine.restore(stored);
    after.clock.advance(40_000); // the host's start-up: Pub/Sub, the listeners
    after.engine.startIdleClocks();
    after.clock.advance(29_999);
    after.engine.tick();
    expect(after.windows).toEqual([]); // silent 29.999 s since readings could come: still open
    expect(after.engine.add('m1', 's', T0 + 5_000, 5)).toBe('accepted');
    after.clock.advance(30_000);
    after.engine.tick(); // silent for the idle timeout since that reading
    // By hand: values 0..4 → mean 2 (the SHUTDOWN partial); 0..5 → mean 2.5.
    expect([...before.windows, ...after.windows].map((w) => [bounds(w), w.revision, w.closeReason, w.sensors[0]?.count, w.sensors[0]?.mean])).toEqual([
      [[0, 10_000], 0, CloseReason.SHUTDOWN, 5, 2],
      [[0, 10_000], 1, CloseReason.IDLE_TIMEOUT, 6, 2.5],
    ]);
  });

  it('sends the windows a restored machine\'s trailing sensor was filling before forgetting it, though its idle clock started later', () => {
    // A checkpoint as an engine before the addBlock fix wrote one (a block ending in NaN closed
    // [0, 10 s) by watermark and left no open pane): [0, 10 s) went out as revision 0, then the
    // trailing sensor b added to it, so it waits in `filling` for b to pass its end.
    const readings = { a: [1, 3], b: [10, 20] };
    const paneOf = (values: number[]) => {
      const pane = new Pane();
      for (const v of values) pane.add(v);
      return pane;
    };
    const sensor = (id: string, maxTs: number) => ({ id, maxTs, firstPaneStart: T0, rate: { blockHz: 0, paneCounts: [] } });
    const header = encodeMachineHeader({
      windowMs: 10_000, paneMs: 10_000, maxTs: T0 + 12_000, closedFloor: T0 + 10_000, trailFrom: T0,
      revisions: new Map([[T0, 0]]), dirty: new Set(), filling: new Set([T0]),
      sensors: [sensor('a', T0 + 12_000), sensor('b', T0 + 9_000)],
    });
    const row = encodePaneRow(['a', 'b'], [paneOf(readings.a), paneOf(readings.b)], 2);
    // The two timers equal: the sensors go at restore + 30 s, before the idle timeout (start-up + 30 s).
    const h = harness({ idleTimeoutMs: 30_000, evictAfterMs: 30_000 });
    expect(h.engine.restore({ machineId: 'm1', header, panes: [{ paneStart: T0, stats: row }] })).toBe(true);
    h.clock.advance(5_000); // the host's start-up
    h.engine.startIdleClocks();
    h.clock.advance(25_000);
    h.engine.tick();
    const stats = (values: number[]) => {
      const { count, mean, min, max } = twoPassStatistics(values);
      return { count, mean, min, max };
    };
    expect(h.windows.map((w) => [bounds(w), w.revision, w.closeReason, w.sensors.map(({ sensorId, count, mean, min, max }) => [sensorId, { count, mean, min, max }])])).toEqual([
      [[0, 10_000], 1, CloseReason.LATE_REVISION, [['a', stats(readings.a)], ['b', stats(readings.b)]]],
    ]);
    expect(h.engine.metrics().machines).toBe(0); // forgotten once sent
  });

  it('suspends with pending revisions sent and counted: the restored engine does not send them again', () => {
    const before = harness({ lateMode: 'revise' });
    before.engine.add('m1', 's', T0 + 1_000, 1);
    before.engine.add('m1', 's', T0 + 12_000, 2); // closes [0, 10)
    before.engine.add('m1', 's', T0 + 3_000, 3); // late: a revision waits for the next tick
    const saved = before.engine.suspend();
    const after = harness({ lateMode: 'revise' });
    for (const stored of storeOf(...saved).all()) after.engine.restore(stored);
    after.engine.tick();
    after.engine.add('m1', 's', T0 + 4_000, 4);
    after.engine.tick();
    expect([...before.windows, ...after.windows].map((w) => [bounds(w), w.revision, w.sensors[0]?.count])).toEqual([
      [[0, 10_000], 0, 1],
      [[0, 10_000], 1, 2],
      [[10_000, 20_000], 0, 1],
      [[0, 10_000], 2, 3],
    ]);
  });

  /** m1 with one reading in [0, 10), checkpointed after the idle timeout closed that window, then forgotten (evicted); a reading recalls it from the checkpoint. */
  function forgottenAfterCheckpoint(options: Partial<WindowEngineOptionsInput> = {}) {
    const saved = new CheckpointStore();
    const h = harness({ idleTimeoutMs: 30_000, evictAfterMs: 60_000, lateMode: 'revise', ...options, recall: (id) => saved.get(id) });
    h.engine.add('m1', 's', T0 + 1_000, 1);
    h.clock.advance(30_000);
    h.engine.tick(); // the idle timeout closes [0, 10)
    saved.save(h.engine);
    h.clock.advance(30_000);
    h.engine.tick(); // m1 is forgotten
    expect(h.engine.metrics().machines).toBe(0);
    return h;
  }

  it('recalls a forgotten machine from its checkpoint: an old reading is late, not a new window reusing a key', () => {
    const h = forgottenAfterCheckpoint();

    expect(h.engine.add('m1', 's', T0 + 2_000, 5)).toBe('late');
    h.engine.tick();
    expect(h.windows.map((w) => [bounds(w), w.revision, w.sensors[0]?.count])).toEqual([
      [[0, 10_000], 0, 1],
      [[0, 10_000], 1, 2],
    ]);
    expect(h.engine.metrics().machinesRestored).toBe(1);
  });

  it('counts a recalled machine as changed even when the reading that recalled it is too late: its next checkpoint writes its header again', () => {
    // The outbox dates a machine's rows by its last header written, and bounds the table by that date
    // among the machines not held: a held machine that wrote no header would look forgotten.
    const h = forgottenAfterCheckpoint({ reviseHorizonMs: 0 });

    expect(h.engine.add('m1', 's', T0 + 2_000, 5)).toBe('too_late'); // no revise horizon
    expect(h.engine.metrics().machinesRestored).toBe(1);
    expect(h.engine.changedMachines()).toEqual(['m1']); // taken at the next checkpoint, before the bound applies
  });

  it('refuses a checkpoint it cannot read, and restores only the closed frontier when the window size changed', () => {
    const h = harness();
    const header = (bytes: number[]) => ({ machineId: 'm1', header: new Uint8Array(bytes), panes: [] });
    expect(h.engine.restore(header([99, 0, 0, 0]))).toBe(false); // another version
    expect(h.engine.restore(header([CHECKPOINT_VERSION, 0, 0, 0, 1]))).toBe(false); // truncated
    expect(h.engine.restore({ machineId: 'm1', header: Buffer.from('{"version":1,"id":"m1"}'), panes: [] })).toBe(false); // version 1 JSON
    expect(h.engine.metrics()).toMatchObject({ checkpointsRefused: 3, machines: 0 });

    const before = harness({ windowMs: 10_000 });
    before.engine.add('m1', 's', T0 + 1_000, 1);
    before.engine.add('m1', 's', T0 + 32_000, 1); // closes up to 30 s; [30, 40) open
    const after = harness({ windowMs: 5_000 });
    after.engine.restore(storeOf(before.engine.checkpoint('m1')).get('m1')!);
    expect(after.engine.metrics()).toMatchObject({ machines: 1, sensors: 0, openWindows: 0 });
    expect(after.engine.add('m1', 's', T0 + 29_000, 1)).toBe('late');
    expect(after.engine.add('m1', 's', T0 + 31_000, 1)).toBe('accepted');
  });

  it('writes only what changed: a closed pane kept for revisions is written once, again when revised, and its row goes once dropped', () => {
    const h = harness({ lateMode: 'revise' }); // panes kept 60 s (reviseHorizonMs) behind the closed floor
    const rows = (c: CheckpointRecord | undefined) => c!.panes.map((p) => p.paneStart - T0);
    h.engine.add('m1', 's', T0 + 1_000, 1);
    const first = h.engine.checkpoint('m1');
    expect([rows(first), first!.dropAll]).toEqual([[0], true]); // a new machine replaces whatever was stored
    h.engine.add('m1', 's', T0 + 12_000, 2); // closes [0, 10 s); the pane stays for revisions
    const second = h.engine.checkpoint('m1');
    expect([rows(second), second!.dropAll, second!.dropBefore]).toEqual([[10_000], false, undefined]);
    h.engine.add('m1', 's', T0 + 3_000, 3); // late: revises [0, 10 s)
    expect(rows(h.engine.checkpoint('m1'))).toEqual([0]);
    expect(rows(h.engine.checkpoint('m1'))).toEqual([]); // nothing changed
    h.engine.add('m1', 's', T0 + 75_000, 4); // closes through 70 s: panes before 10 s are dropped
    const fifth = h.engine.checkpoint('m1');
    expect([rows(fifth), fifth!.dropBefore! - T0]).toEqual([[70_000], 10_000]);
    expect(rows(h.engine.checkpoint('m1', true))).toEqual([10_000, 70_000]); // complete: every pane kept
  });

  it('rewrites a machine\'s rows when one of its sensors is forgotten: restored, the engine holds what it held', () => {
    const store = new CheckpointStore();
    const before = harness({ idleTimeoutMs: 30_000, evictAfterMs: 60_000, lateMode: 'revise', recall: (id) => store.get(id) });
    before.engine.add('m1', 'b', T0 + 1_000, 7);
    // b is forgotten once silent for a minute and its one pane, [0, 10 s), is beyond any revision
    // (closed floor 80 s − the 60 s horizon): the machine then keeps a's panes [20, 90 s).
    for (let t = 1_000; t <= 86_000; t += 5_000) {
      before.engine.add('m1', 'a', T0 + t, t / 1_000);
      before.clock.set(T0 + t);
      before.engine.tick();
      store.save(before.engine);
    }
    expect(before.engine.metrics()).toMatchObject({ evictedSensors: 1, sensors: 1, retainedPanes: 7 });
    before.engine.add('m1', 'b', T0 + 84_000, 1); // b comes back: a new sensor
    store.save(before.engine);
    const after = harness({ lateMode: 'revise' });
    after.clock.set(before.clock.now());
    after.engine.restore(store.get('m1')!);
    expect(after.engine.metrics()).toMatchObject({ sensors: 2, retainedPanes: 8 });
    before.windows.length = 0;
    for (const h of [before, after]) {
      h.engine.add('m1', 'b', T0 + 25_000, 2); // late: revises [20, 30 s), which b had no reading in
      h.engine.flush();
    }
    expect(after.windows.map((w) => [bounds(w), w.sensors.map((x) => [x.sensorId, x.count])])).toEqual([
      [[20_000, 30_000], [['a', 2], ['b', 1]]], // a at 21 s and 26 s; b's 25 s
      [[80_000, 90_000], [['a', 2], ['b', 1]]],
    ]);
    expect(hex(after.windows)).toEqual(hex(before.windows));
  });

  it('keeps a machine whose windows closed in the tick that evicts it until its checkpoint is taken: its next reading revises, never reuses revision 0', () => {
    const store = new CheckpointStore();
    const h = harness({ idleTimeoutMs: 30_000, evictAfterMs: 60_000, lateMode: 'revise', recall: (id) => store.get(id) });
    h.engine.add('m1', 's', T0 + 1_000, 1);
    store.save(h.engine); // [0, 10 s) open
    h.clock.advance(60_000); // a clock jump: the idle timeout and the eviction fall in one tick
    h.engine.tick();
    expect(h.engine.metrics().machines).toBe(1);
    expect(h.engine.changedMachines()).toEqual(['m1']);
    store.save(h.engine); // the writer takes it with the closed window
    h.engine.tick();
    expect(h.engine.metrics().machines).toBe(0);

    expect(h.engine.add('m1', 's', T0 + 2_000, 2)).toBe('late');
    h.engine.tick();
    // By hand: [1] → mean 1; [1, 2] → mean 1.5.
    expect(h.windows.map((w) => [bounds(w), w.revision, w.closeReason, w.sensors[0]?.count, w.sensors[0]?.mean])).toEqual([
      [[0, 10_000], 0, CloseReason.IDLE_TIMEOUT, 1, 1],
      [[0, 10_000], 1, CloseReason.LATE_REVISION, 2, 1.5],
    ]);
  });

  for (const [from, to, revised] of [
    [{ windowMs: 10_000 }, { windowMs: 5_000 }, [0, 5_000]],
    [{ windowMs: 10_000, hopMs: 5_000 }, { windowMs: 10_000 }, [0, 10_000]],
  ] as const) {
    it(`keeps the revision counters when the geometry changed (${JSON.stringify(from)} → ${JSON.stringify(to)}): a window starting where one went out is revision 1`, () => {
      const before = harness({ ...from, lateMode: 'revise' });
      before.engine.add('m1', 's', T0 + 1_000, 1);
      before.engine.add('m1', 's', T0 + 32_000, 1); // closes up to 30 s: the window starting at 0 went out as revision 0
      expect(before.windows.filter((w) => bounds(w)[0] === 0).map((w) => w.revision)).toEqual([0]);
      const after = harness({ ...to, lateMode: 'revise' });
      expect(after.engine.restore(storeOf(before.engine.checkpoint('m1')).get('m1')!)).toBe(true);
      expect(after.engine.add('m1', 's', T0 + 2_000, 5)).toBe('late');
      after.engine.tick();
      // The panes of the old geometry are gone: the revision holds the late reading alone.
      expect(after.windows.map((w) => [bounds(w), w.revision, w.sensors[0]?.count, w.sensors[0]?.mean])).toEqual([[revised, 1, 1, 5]]);
    });
  }
});
