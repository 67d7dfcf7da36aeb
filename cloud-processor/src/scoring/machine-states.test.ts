import { describe, expect, it } from 'vitest';
import { MachineStates } from './machine-states.js';

const DAY = 86_400_000;
const model = { name: 'level', version: '1', createdAt: '2026-12-05T10:00:00.000Z' };

describe('MachineStates', () => {
  it('forgets the machines silent for longer than asked before their model\'s newest window, in event time', () => {
    const states = new MachineStates<{ seen: number }>((s) => s.seen);
    const machines = states.of(model);
    machines.get('s', 'old', () => ({ seen: 0 }));
    machines.get('s', 'quiet', () => ({ seen: 10 * DAY }));
    machines.get('s', 'busy', () => ({ seen: 40 * DAY }));
    const now = 100 * DAY;
    expect(states.forgetSilent(30 * DAY, now)).toBe(1);
    expect(states.peek('level', '1', 's', 'old')).toBeUndefined();
    expect(states.peek('level', '1', 's', 'quiet')).toEqual({ seen: 10 * DAY });
    // Another model's machines are judged against that model's newest window, not this one's.
    states.of({ ...model, name: 'other' }).get('s', 'alone', () => ({ seen: 1 }));
    expect(states.forgetSilent(30 * DAY, now)).toBe(0);
    expect(states.entries().map((e) => `${e.model}/${e.machineId}`).sort()).toEqual(['level/busy', 'level/quiet', 'other/alone']);
  });

  it('judges silence against now at most: a window from the future (a gateway clock far ahead) makes no other machine silent', () => {
    const states = new MachineStates<{ seen: number }>((s) => s.seen);
    const machines = states.of(model);
    const now = 100 * DAY;
    machines.get('s', 'live', () => ({ seen: now - DAY }));
    machines.get('s', 'clock-ahead', () => ({ seen: now + 365 * DAY }));
    expect(states.forgetSilent(30 * DAY, now)).toBe(0);
    expect(states.entries().map((e) => e.machineId).sort()).toEqual(['clock-ahead', 'live']);
  });
});
