import { CloseReason, MachineWindowSchema, toBinary, type MachineWindow } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import type { WindowEngineOptionsInput } from './options.js';
import { bounds, harness, T0 } from './test-support/engine-harness.js';
import { seededRandom } from './test-support/two-pass.js';

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

/** Feeds readings to a harness, ticking once a second of its clock. */
function feed(h: ReturnType<typeof harness>, rs: readonly Reading[]): void {
  for (const r of rs) {
    h.engine.add(r.machine, r.sensor, r.ts, r.value);
    if (h.clock.now() < r.ts - 1_000) {
      h.clock.set(Math.floor(r.ts));
      h.engine.tick();
    }
  }
}

describe('checkpoints', () => {
  for (const options of [{ lateMode: 'revise' }, { lateMode: 'count' }, { lateMode: 'revise', hopMs: 5_000 }] as WindowEngineOptionsInput[]) {
    it(`restored into a new engine, carry on exactly as the engine that never stopped (${JSON.stringify(options)})`, () => {
      for (const seed of [1, 2, 3]) {
        const all = readings(seed);
        const cut = Math.floor(all.length * (0.3 + 0.1 * seed));
        const uninterrupted = harness(options);
        feed(uninterrupted, all);
        uninterrupted.engine.flush();

        const before = harness(options);
        feed(before, all.slice(0, cut));
        const saved = before.engine.changedMachines().map((id) => before.engine.checkpoint(id)!);
        expect(before.engine.changedMachines()).toEqual([]); // taking a checkpoint marks the machine saved
        const after = harness(options);
        after.clock.set(before.clock.now());
        for (const text of saved) expect(after.engine.restore(text)).toBe(true);
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
    const saved = before.engine.checkpoint('m1')!;
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
      for (const { state } of saved) after.engine.restore(state);
      expect(after.engine.metrics().openWindows).toBe(1);
      for (let i = 5; i < 10; i++) expect(after.engine.add('m1', 's', T0 + i * 1_000, i)).toBe('accepted');
      after.engine.add('m1', 's', T0 + 12_000, 0); // the watermark reaches 10 s
      expect([...before.windows, ...after.windows].map((w) => [bounds(w), w.revision, w.closeReason, w.sensors[0]?.count, w.sensors[0]?.mean])).toEqual([
        [[0, 10_000], 0, CloseReason.SHUTDOWN, 5, 2],
        [[0, 10_000], 1, CloseReason.WATERMARK, 10, 4.5],
      ]);
    });
  }

  it('suspends with pending revisions sent and counted: the restored engine does not send them again', () => {
    const before = harness({ lateMode: 'revise' });
    before.engine.add('m1', 's', T0 + 1_000, 1);
    before.engine.add('m1', 's', T0 + 12_000, 2); // closes [0, 10)
    before.engine.add('m1', 's', T0 + 3_000, 3); // late: a revision waits for the next tick
    const saved = before.engine.suspend();
    const after = harness({ lateMode: 'revise' });
    for (const { state } of saved) after.engine.restore(state);
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

  it('recalls a forgotten machine from its checkpoint: an old reading is late, not a new window reusing a key', () => {
    const saved = new Map<string, string>();
    const h = harness({ idleTimeoutMs: 30_000, evictAfterMs: 60_000, lateMode: 'revise', recall: (id) => saved.get(id) });
    h.engine.add('m1', 's', T0 + 1_000, 1);
    h.clock.advance(30_000);
    h.engine.tick(); // the idle timeout closes [0, 10)
    saved.set('m1', h.engine.checkpoint('m1')!);
    h.clock.advance(30_000);
    h.engine.tick(); // m1 is forgotten
    expect(h.engine.metrics().machines).toBe(0);

    expect(h.engine.add('m1', 's', T0 + 2_000, 5)).toBe('late');
    h.engine.tick();
    expect(h.windows.map((w) => [bounds(w), w.revision, w.sensors[0]?.count])).toEqual([
      [[0, 10_000], 0, 1],
      [[0, 10_000], 1, 2],
    ]);
    expect(h.engine.metrics().machinesRestored).toBe(1);
  });

  it('refuses a checkpoint it cannot read, and restores only the closed frontier when the window size changed', () => {
    const h = harness();
    expect(h.engine.restore('{"version": 99}')).toBe(false);
    expect(h.engine.restore('not json')).toBe(false);
    expect(h.engine.metrics().checkpointsRefused).toBe(2);

    const before = harness({ windowMs: 10_000 });
    before.engine.add('m1', 's', T0 + 1_000, 1);
    before.engine.add('m1', 's', T0 + 32_000, 1); // closes up to 30 s; [30, 40) open
    const after = harness({ windowMs: 5_000 });
    after.engine.restore(before.engine.checkpoint('m1')!);
    expect(after.engine.metrics()).toMatchObject({ machines: 1, sensors: 0, openWindows: 0 });
    expect(after.engine.add('m1', 's', T0 + 29_000, 1)).toBe('late');
    expect(after.engine.add('m1', 's', T0 + 31_000, 1)).toBe('accepted');
  });
});
