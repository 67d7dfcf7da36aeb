import { CloseReason, MachineWindowSchema, create, encodeMachineWindow, toBinary } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { FEATURE_VERSION } from './assemble.js';
import { bounds, harness, T0 } from './test-support/engine-harness.js';

describe('tumbling windows closed by the watermark', () => {
  it('aligns windows to the epoch: start = floor(ts / size) * size', () => {
    const { engine, windows } = harness({ allowedLatenessMs: 0 });
    engine.add('m1', 's', T0 + 12_345, 1);
    engine.add('m1', 's', T0 + 19_999.5, 2);
    engine.add('m1', 's', T0 + 20_000, 3); // first reading of the next window closes [10 s, 20 s)
    expect(windows.map(bounds)).toEqual([[10_000, 20_000]]);
    expect(windows[0]?.sensors[0]?.count).toBe(2);
  });

  it('accepts out-of-order readings within the lateness and closes when the watermark passes the end', () => {
    const { engine, windows } = harness(); // lateness 2 s
    expect(engine.add('m1', 's', T0 + 1_000, 1)).toBe('accepted');
    expect(engine.add('m1', 's', T0 + 9_000, 2)).toBe('accepted');
    expect(engine.add('m1', 's', T0 + 11_000, 10)).toBe('accepted');
    expect(engine.add('m1', 's', T0 + 9_500, 3)).toBe('accepted'); // out of order, within lateness
    engine.add('m1', 's', T0 + 11_999, 10); // watermark 9 999: still open
    expect(windows).toHaveLength(0);
    engine.add('m1', 's', T0 + 12_000, 10); // watermark 10 000 = window end
    expect(windows).toHaveLength(1);
    const [w] = windows;
    expect(w?.closeReason).toBe(CloseReason.WATERMARK);
    expect(w?.revision).toBe(0);
    expect(w?.featureVersion).toBe(FEATURE_VERSION);
    expect([w?.gatewayId, w?.siteId, w?.machineId]).toEqual(['gw-1', 'site-a', 'm1']);
    expect(w?.windowStart).toBe(BigInt(T0));
    expect(w?.windowEnd).toBe(BigInt(T0 + 10_000));
    expect(w?.sensors[0]).toMatchObject({ sensorId: 's', count: 3, mean: 2, min: 1, max: 3, lateCount: 0 });
  });

  it('emits the message protobuf-es would build: the same object as create() gives and the same bytes', () => {
    const { engine, windows } = harness({ allowedLatenessMs: 0 });
    engine.add('m1', 'b', T0 + 1_000, 1);
    engine.add('m1', 'a', T0 + 2_000, 4);
    engine.add('m1', 'a', T0 + 3_000, 6);
    engine.add('m1', 'a', T0 + 10_000, 1);
    const [w] = windows;
    if (w === undefined) throw new Error('no window closed');
    // Plain field values all the way down: create() keeps a nested object that already carries
    // $typeName, so passing w's own SensorStats would compare them with themselves.
    const { $typeName: _type, sensors, ...fields } = w;
    const plain = { ...fields, sensors: sensors.map(({ $typeName: _sensorType, ...stats }) => ({ ...stats })) };
    const built = create(MachineWindowSchema, plain);
    expect(built.sensors[0]).not.toBe(sensors[0]);
    expect(w).toStrictEqual(built);
    expect(encodeMachineWindow(w)).toEqual(toBinary(MachineWindowSchema, built));
  });

  it('stamps each window with the time it closed on the engine clock, unless told not to', () => {
    const { engine, clock, windows } = harness({ allowedLatenessMs: 0 });
    engine.add('m1', 's', T0 + 1_000, 1);
    clock.advance(12_345);
    engine.add('m1', 's', T0 + 10_000, 1); // closes [0, 10 s) now
    clock.advance(1_000);
    engine.flush();
    expect(windows.map((w) => w.closedAt)).toEqual([BigInt(T0 + 12_345), BigInt(T0 + 13_345)]);

    const unstamped = harness({ allowedLatenessMs: 0, stampClosedAt: false });
    unstamped.engine.add('m1', 's', T0 + 1_000, 1);
    unstamped.engine.flush();
    expect(unstamped.windows.map((w) => w.closedAt)).toEqual([0n]);
  });

  it('emits every window a watermark jump closes, in window order', () => {
    const { engine, windows } = harness({ allowedLatenessMs: 5_000 });
    engine.add('m1', 's', T0 + 1_000, 1);
    engine.add('m1', 's', T0 + 12_000, 1);
    engine.add('m1', 's', T0 + 24_000, 1);
    engine.add('m1', 's', T0 + 60_000, 1); // watermark 55 s closes [0,10), [10,20), [20,30)
    expect(windows.map(bounds)).toEqual([[0, 10_000], [10_000, 20_000], [20_000, 30_000]]);
  });

  it('keeps machines independent: one machine watermark does not close another', () => {
    const { engine, windows } = harness({ allowedLatenessMs: 0 });
    engine.add('m1', 's', T0 + 1_000, 1);
    engine.add('m2', 's', T0 + 1_000, 1);
    engine.add('m1', 's', T0 + 10_000, 1);
    expect(windows.map((w) => w.machineId)).toEqual(['m1']);
  });
});

describe('feature assembly', () => {
  it('emits one MachineWindow per machine window holding all its sensors, sorted by id', () => {
    const { engine, windows } = harness({ allowedLatenessMs: 0 });
    engine.add('m1', 'vib', T0 + 100, 1);
    engine.add('m1', 'amp', T0 + 200, 2);
    engine.add('m1', 'temp', T0 + 300, 3); // temp falls silent after this
    engine.add('m1', 'vib', T0 + 9_000, 1);
    engine.add('m1', 'amp', T0 + 9_900, 2);
    expect(windows).toHaveLength(0); // waits for the window to close for all sensors
    engine.add('m1', 'vib', T0 + 10_100, 5);
    expect(windows).toHaveLength(1);
    expect(windows[0]?.sensors.map((s) => [s.sensorId, s.count])).toEqual([['amp', 2], ['temp', 1], ['vib', 2]]);
  });

  it('leaves out sensors without a reading in the window', () => {
    const { engine, windows } = harness({ allowedLatenessMs: 0 });
    engine.add('m1', 'a', T0 + 100, 1);
    engine.add('m1', 'b', T0 + 200, 1);
    engine.add('m1', 'a', T0 + 10_100, 1);
    engine.add('m1', 'a', T0 + 20_100, 1);
    expect(windows.map((w) => w.sensors.map((s) => s.sensorId))).toEqual([['a', 'b'], ['a']]);
  });
});

describe('idle timeout on the gateway clock', () => {
  it('closes the windows of a silent machine with IDLE_TIMEOUT, then treats its readings as late', () => {
    const { engine, clock, windows } = harness(); // idle timeout 30 s
    engine.add('m1', 's', T0 + 1_000, 1);
    engine.add('m1', 's', T0 + 9_000, 2);
    clock.advance(29_999);
    engine.tick();
    expect(windows).toHaveLength(0);
    clock.advance(1);
    engine.tick();
    expect(windows.map((w) => [bounds(w), w.closeReason])).toEqual([[[0, 10_000], CloseReason.IDLE_TIMEOUT]]);
    expect(engine.add('m1', 's', T0 + 9_500, 3)).toBe('late');
    expect(engine.add('m1', 's', T0 + 10_500, 3)).toBe('accepted');
  });

  it('counts a machine silent from the arrival time its host gives with a reading, not a second read of the clock', () => {
    const { engine, clock, windows } = harness(); // idle timeout 30 s
    // The host (ingest) read the clock when it validated the reading: that is when it arrived.
    engine.add('m1', 's', T0 + 1_000, 1, T0 - 5_000);
    engine.addBlock('m2', 's', T0 + 1_000, 10, [1, 2], T0 - 5_000);
    clock.advance(24_999);
    engine.tick();
    expect(windows).toHaveLength(0);
    clock.advance(1);
    engine.tick();
    expect(windows.map((w) => [w.machineId, w.closeReason])).toEqual([['m1', CloseReason.IDLE_TIMEOUT], ['m2', CloseReason.IDLE_TIMEOUT]]);
  });

  it('closes a machine that said it went away at once, as at the idle timeout, and no other machine', () => {
    const { engine, clock, windows } = harness();
    engine.add('m1', 's', T0 + 1_000, 1);
    engine.add('m1', 's', T0 + 9_000, 2);
    engine.add('m2', 's', T0 + 3_000, 5);
    clock.advance(1_000);
    engine.closeMachine('m1');
    engine.closeMachine('never-seen');
    expect(windows.map((w) => [w.machineId, bounds(w), w.closeReason, w.sensors[0]?.count, w.sensors[0]?.mean])).toEqual([
      ['m1', [0, 10_000], CloseReason.IDLE_TIMEOUT, 2, 1.5],
    ]);
    expect(engine.add('m1', 's', T0 + 9_500, 3)).toBe('late');
  });

  it('counts silence from the last reading of any sensor of the machine', () => {
    const { engine, clock, windows } = harness({ allowedLatenessMs: 5_000 });
    engine.add('m1', 'a', T0 + 1_000, 1);
    clock.advance(20_000);
    engine.add('m1', 'b', T0 + 2_000, 1);
    clock.advance(20_000);
    engine.tick();
    expect(windows).toHaveLength(0);
    clock.advance(10_000);
    engine.tick();
    expect(windows[0]?.sensors.map((s) => s.sensorId)).toEqual(['a', 'b']);
  });
});

describe('shutdown', () => {
  it('flush closes every open window as a SHUTDOWN partial, in window order per machine', () => {
    const { engine, windows } = harness();
    engine.add('m1', 's', T0 + 9_000, 1);
    engine.add('m1', 's', T0 + 10_500, 2); // watermark 8.5 s: both windows open
    engine.add('m2', 's', T0 + 3_000, 3);
    engine.flush();
    expect(windows.map((w) => [w.machineId, bounds(w), w.closeReason])).toEqual([
      ['m1', [0, 10_000], CloseReason.SHUTDOWN],
      ['m1', [10_000, 20_000], CloseReason.SHUTDOWN],
      ['m2', [0, 10_000], CloseReason.SHUTDOWN],
    ]);
    engine.flush();
    expect(windows).toHaveLength(3);
    expect(engine.metrics().openWindows).toBe(0);
  });

  it('endOfStream closes windows the data covered by WATERMARK and the one it stops inside as SHUTDOWN', () => {
    const { engine, windows } = harness();
    engine.add('m1', 's', T0 + 9_000, 1);
    engine.add('m1', 's', T0 + 10_500, 2);
    engine.endOfStream();
    expect(windows.map((w) => [bounds(w), w.closeReason])).toEqual([
      [[0, 10_000], CloseReason.WATERMARK],
      [[10_000, 20_000], CloseReason.SHUTDOWN],
    ]);
  });
});

describe('input guard', () => {
  it('counts non-finite values and impossible times as invalid, without throwing or opening windows', () => {
    const { engine } = harness();
    expect(engine.add('m1', 's', T0, Number.NaN)).toBe('invalid');
    expect(engine.add('m1', 's', T0, Infinity)).toBe('invalid');
    expect(engine.add('m1', 's', Number.NaN, 1)).toBe('invalid');
    expect(engine.add('m1', 's', 1e300, 1)).toBe('invalid');
    expect(engine.addBlock('m1', 's', T0, 0, [1, 2])).toEqual({ accepted: 0, late: 0, tooLate: 0, invalid: 2 });
    expect(engine.addBlock('m1', 's', T0, 10, [1, Number.NaN, 3])).toEqual({ accepted: 2, late: 0, tooLate: 0, invalid: 1 });
    expect(engine.metrics()).toMatchObject({ invalidReadings: 7, readingsAccepted: 2 });
  });

  it('rejects inconsistent options with a message naming the option', () => {
    expect(() => harness({ windowMs: 10_000, hopMs: 3_000 })).toThrow(/hopMs/);
    expect(() => harness({ idleTimeoutMs: 60_000, evictAfterMs: 1_000 })).toThrow(/evictAfterMs/);
  });
});
