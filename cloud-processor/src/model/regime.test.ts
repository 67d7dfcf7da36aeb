import { describe, expect, it } from 'vitest';
import { gateWindow, initialGateState, type RegimeGate } from './regime.js';

const W = 10_000;
const gate: RegimeGate = { sensors: [{ sensor: 'speed', runningAbove: 200, maxStep: 5 }], settleWindows: 2 };

/** Decisions for a run of speed means, one window after the other. */
function decide(speeds: number[], state = initialGateState(), from = 1): (string | null)[] {
  return speeds.map((s, i) => gateWindow(gate, state, [s], (from + i) * W, W));
}

describe('the running-state gate', () => {
  it('holds a stop, the steps into and out of it, and the settling windows after', () => {
    expect(decide([1000, 1001, 999, 1000, 500, 0, 0, 400, 1000, 1001, 1000, 1000, 1001])).toEqual([
      null, null, null, null, 'transient', 'stopped', 'stopped', 'transient', 'transient', 'settling', 'settling', null, null,
    ]);
  });

  it('holds a step of speed and lets small wobbles through', () => {
    expect(decide([1000, 1004, 1000, 1020, 1020, 1021, 1020, 1019])).toEqual([null, null, null, 'transient', 'settling', 'settling', null, null]);
  });

  it('measures no step across a gap (an outage, a restart) and decides a window seen again as the first time', () => {
    const state = initialGateState();
    decide([1000, 1000], state);
    expect(gateWindow(gate, state, [1100], 10 * W, W)).toBeNull(); // not adjacent to window 2
    expect(gateWindow(gate, state, [1150], 11 * W, W)).toBe('transient');
    expect(gateWindow(gate, state, [1150], 11 * W, W)).toBe('transient'); // redelivered
    expect(gateWindow(gate, state, [1000], 2 * W, W)).toBeNull(); // remembered: it was let through
    expect(gateWindow(gate, state, [0], 5 * W, W)).toBe('stopped'); // never seen: judged by its level alone
    expect(state.previousEnd).toBe(11 * W);
  });
});

describe('a gate held by a majority of its sensors (a training that never showed a stop)', () => {
  // speed, current and temperature, each steady while running; two of the three make a stop; no steps judged.
  const majority: RegimeGate = {
    sensors: [
      { sensor: 'speed', runningAbove: 200 },
      { sensor: 'current', runningAbove: 5 },
      { sensor: 'temp', runningAbove: 10 },
    ],
    settleWindows: 2,
    quorum: 2,
  };
  const run = (windows: [number, number, number][]): (string | null)[] => {
    const state = initialGateState();
    return windows.map((means, i) => gateWindow(majority, state, means, (i + 1) * W, W));
  };

  it('holds a stop of speed and current (the temperature still warm) and the start settling after it', () => {
    expect(run([[1000, 25, 50], [1000, 25, 50], [0, 0.2, 48], [0, 0.2, 45], [1000, 25, 44], [1000, 25, 44], [1000, 25, 44]])).toEqual([
      null, null, 'stopped', 'stopped', 'settling', 'settling', null,
    ]);
  });

  it('scores a fault of one sensor (its current lost) and steps of them all (a fault as well as a speed change)', () => {
    expect(run([[1000, 25, 50], [1000, 0.1, 50], [1000, 0.1, 50], [1300, 35, 70], [1000, 25, 50]])).toEqual([null, null, null, null, null]);
  });
});
