import { create, MachineWindowSchema } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { windowOfReadings } from '../test-support/windows.js';
import { learnRegimeGate, runningWindows, SETTLE_WINDOWS } from './regime-gate.js';

const W = 10_000;
const T0 = 1_700_000_000_000;

/** Windows of a fan: speed and current follow a set-point; stopped (both 0) in `stops`; temp never stops. */
function fan(count: number, setpoint: (w: number) => number, stops: (w: number) => boolean) {
  return Array.from({ length: count }, (_, w) => {
    const running = !stops(w);
    const speed = running ? 900 * setpoint(w) + 0.2 * Math.sin(w * 1.7) : 0;
    const current = running ? 25 * setpoint(w) + 0.05 * Math.cos(w * 2.3) : 0;
    return windowOfReadings({ machineId: 'fan-1', startMs: T0 + w * W, windowMs: W, readings: { speed: [speed], current: [current], temp: [40 + 0.1 * Math.sin(w)] } });
  });
}

describe('learnRegimeGate', () => {
  const setpoint = (w: number) => (w < 300 ? 1 : 0.8);
  const windows = fan(600, setpoint, (w) => w >= 100 && w < 130);

  it('finds the steadiest sensor the machine stops on, its running level and its usual step', () => {
    const gate = learnRegimeGate(windows, ['speed', 'current', 'temp'])!;
    // Both stop; speed's noise is the smaller share of its level (0.2 of ~800 against 0.05 of ~22).
    expect(gate.sensors.map((s) => s.sensor)).toEqual(['speed']);
    // A fifth of the median window level of speed: 30 stopped, 270 near 900 and 300 near 720 → the mean of the 300th and 301st, near 720.
    const speeds = windows.map((w) => w.sensors[0]!.mean).sort((a, b) => a - b);
    expect(gate.sensors[0]!.runningAbove).toBeCloseTo(0.2 * ((speeds[299]! + speeds[300]!) / 2), 9);
    expect(speeds[299]!).toBeCloseTo(720, 0);
    expect(speeds[300]!).toBeCloseTo(720, 0);
    // Steps of steady running: |0.2 (sin(1.7 w) − sin(1.7 (w − 1)))|, median about 0.2; ×20 stays below the 180 rpm set-point step.
    expect(gate.sensors[0]!.maxStep).toBeGreaterThan(1);
    expect(gate.sensors[0]!.maxStep).toBeLessThan(180);
    expect(gate.settleWindows).toBe(SETTLE_WINDOWS);
  });

  it('keeps the running windows for training and says how many it held', () => {
    const gate = learnRegimeGate(windows, ['speed', 'current', 'temp'])!;
    const { kept, held } = runningWindows(gate, windows);
    // The stop (30 windows), the start (1 transient step out of 0) and the set-point step, each settling after.
    expect(held).toEqual({ stopped: 30, transient: 2, settling: 2 * SETTLE_WINDOWS });
    expect(kept).toHaveLength(600 - 30 - 2 - 2 * SETTLE_WINDOWS);
    expect(kept.some((w) => w.sensors[0]!.mean === 0)).toBe(false);
  });

  it('finds the running level of a machine stopped for most of its training (a duty cycle)', () => {
    // Stopped 60 % of every 100 windows (speed ~0.4 at rest: a sensor's offset), running near 900.
    const duty = fan(600, () => 1, (w) => w % 100 < 60).map((w) => {
      const s = w.sensors[0]!;
      if (s.mean === 0) s.mean = 0.4;
      return w;
    });
    for (const declared of [undefined, 'speed']) {
      const gate = learnRegimeGate(duty, ['speed', 'current', 'temp'], declared)!;
      expect(gate.sensors[0]!.sensor).toBe('speed');
      // A fifth of ~900: every stopped window is held, every running one (but the settling after a start) kept.
      expect(gate.sensors[0]!.runningAbove).toBeCloseTo(180, 0);
      const { held } = runningWindows(gate, duty);
      expect(held.stopped).toBe(360);
    }
  });

  it('never takes a zero-centred signal for a state sensor', () => {
    const vibration = windows.map((w, i) => windowOfReadings({ machineId: 'fan-1', startMs: T0 + i * W, windowMs: W, readings: { vib: [Math.sin(i * 0.9) * 0.01 + 0.001] } }));
    expect(learnRegimeGate(vibration, ['vib'])).toBeNull();
  });

  it('gates a machine that never stopped on every sensor steady while running, a majority of them below their level making a stop', () => {
    const steady = fan(300, () => 1, () => false);
    const gate = learnRegimeGate(steady, ['speed', 'current', 'temp'])!;
    // Each at a fifth of its running level (speed ~900, current ~25, temp ~40), no step judged.
    expect(gate.sensors).toEqual([
      { sensor: 'speed', runningAbove: expect.closeTo(180, 0) as number },
      { sensor: 'current', runningAbove: expect.closeTo(5, 1) as number },
      { sensor: 'temp', runningAbove: expect.closeTo(8, 1) as number },
    ]);
    expect(gate.quorum).toBe(2);
    // Later: a stop (speed and current 0, the temperature still warm) is held and the start settles;
    // the current alone lost is not held, nor a step of every sensor (a set-point change, or a fault).
    const later = fan(40, (w) => (w >= 25 ? 0.8 : 1), (w) => w >= 10 && w < 20).map((w, i) =>
      i >= 30 ? windowOfReadings({ machineId: 'fan-1', startMs: T0 + i * W, windowMs: W, readings: { speed: [720], current: [0], temp: [40] } }) : w,
    );
    const { held } = runningWindows(gate, later);
    expect(held).toEqual({ stopped: 10, transient: 0, settling: SETTLE_WINDOWS });
  });

  it('learns nothing from a machine that never stopped with fewer than two steady sensors, unless a state sensor is declared', () => {
    const steady = fan(300, () => 1, () => false);
    expect(learnRegimeGate(steady, ['speed'])).toBeNull();
    const declared = learnRegimeGate(steady, ['speed', 'current', 'temp'], 'speed')!;
    expect(declared.sensors.map((s) => s.sensor)).toEqual(['speed']);
    expect(() => learnRegimeGate(steady, ['speed'], 'rpm')).toThrow(/state sensor rpm is not one of the model's sensors \(speed\)/);
  });

  it('holds the same stops and steps in hopping training windows as in tumbling ones', () => {
    const gate = learnRegimeGate(windows, ['speed', 'current'])!;
    // Each tumbling window again, shifted by half a window: two series of windows that follow each other.
    const shifted = windows.map((w) => create(MachineWindowSchema, { ...w, windowStart: w.windowStart + 5_000n, windowEnd: w.windowEnd + 5_000n }));
    const { held } = runningWindows(gate, [...windows, ...shifted]);
    expect(held).toEqual({ stopped: 60, transient: 4, settling: 4 * SETTLE_WINDOWS });
  });

  it('refuses a declared state sensor that never has a positive level', () => {
    const flat = fan(50, () => 1, () => false).map((w, i) => windowOfReadings({ machineId: 'fan-1', startMs: T0 + i * W, windowMs: W, readings: { speed: [0], temp: [40] } }));
    expect(() => learnRegimeGate(flat, ['speed', 'temp'], 'speed')).toThrow(/state sensor speed has no positive running level/);
  });

  it('measures steps between hopping windows one window apart, as tumbling windows see them', () => {
    const hopping = windows.flatMap((w) => [w, create(MachineWindowSchema, { ...w, windowStart: w.windowStart + 5_000n, windowEnd: w.windowEnd + 5_000n })]);
    const tumbling = learnRegimeGate(windows, ['speed', 'current'])!;
    const both = learnRegimeGate(hopping, ['speed', 'current'])!;
    expect(both.sensors[0]!.maxStep).toBeCloseTo(tumbling.sensors[0]!.maxStep!, 9);
  });
});
