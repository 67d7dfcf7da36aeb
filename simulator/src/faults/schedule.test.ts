import { describe, expect, it } from 'vitest';
import { fleetFromMix } from '../fleet/fleet.js';
import { Machine, type MachineTick } from '../fleet/machine.js';
import { FAULT_KINDS } from './catalogue.js';
import { parseGroundTruth, toGroundTruth } from './ground-truth.js';
import { type FaultScheduleInput, scheduleFaults } from './schedule.js';

const START = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;
const input = (over: Partial<FaultScheduleInput> = {}): FaultScheduleInput => ({
  seed: 3,
  startMs: START,
  durationMs: 7 * DAY,
  tickMs: 1_000,
  repairMs: 2 * 3_600_000,
  machines: fleetFromMix(200, { pump: 1, motor: 1, fan: 1, compressor: 1 }),
  explicit: [],
  random: { probability: 0.3, kinds: FAULT_KINDS, healthyFraction: 0.3 },
  ...over,
});

describe('fault schedule', () => {
  it('draws random faults with the seeded probability, after the healthy prefix, failing inside the run', () => {
    const plans = scheduleFaults(input());
    expect(plans.length).toBeGreaterThan(200 * 0.3 * 0.6);
    expect(plans.length).toBeLessThan(200 * 0.3 * 1.4);
    for (const p of plans) {
      expect(p.onset).toBeGreaterThanOrEqual(START + 0.3 * 7 * DAY);
      expect(p.failure).toBeLessThanOrEqual(START + 7 * DAY);
      expect(p.failure).toBeGreaterThan(p.onset);
      expect(p.recovered).toBeGreaterThanOrEqual(p.failure);
      expect(p.sensors.length).toBeGreaterThan(0);
    }
    // Cavitation needs a liquid: only pumps get it.
    expect(plans.filter((p) => p.fault === 'cavitation').every((p) => p.machine.startsWith('pump'))).toBe(true);
    expect(scheduleFaults(input())).toEqual(plans);
    expect(scheduleFaults(input({ seed: 4 }))).not.toEqual(plans);
  });

  it('takes explicit faults and names the key of a bad one', () => {
    const machines = [{ id: 'p1', type: 'pump' as const }];
    const ok = scheduleFaults(
      input({
        machines,
        random: undefined,
        explicit: [{ machine: 'p1', fault: 'sensor_drift', onset: START + DAY, failure: START + 2 * DAY, sensor: 'flow' }],
      }),
    );
    expect(ok).toEqual([
      { machine: 'p1', fault: 'sensor_drift', onset: START + DAY, failure: START + 2 * DAY, recovered: START + 2 * DAY, sensors: ['flow'] },
    ]);
    const bad = (f: FaultScheduleInput['explicit'][number]) => () =>
      scheduleFaults(input({ machines, random: undefined, explicit: [f] }));
    expect(bad({ machine: 'x', fault: 'imbalance', onset: START, failure: START + 1 })).toThrow(
      /faults\.scheduled\[0\]\.machine: no machine "x"/,
    );
    expect(bad({ machine: 'p1', fault: 'imbalance', onset: START + 5, failure: START })).toThrow(
      /faults\.scheduled\[0\]\.failure: must be after onset/,
    );
    expect(bad({ machine: 'p1', fault: 'sensor_stuck', onset: START, failure: START + 1 })).toThrow(
      /faults\.scheduled\[0\]\.sensor: a sensor_stuck needs one of this pump's sensors/,
    );
  });

  it('labels onset and failure at the tick where the readings first differ from a healthy twin', () => {
    // A 7 s tick, so times drawn to the millisecond almost never fall on a tick by chance.
    const tickMs = 7_000;
    const durationMs = 12 * 3_600_000;
    const machines = fleetFromMix(6, { pump: 1, fan: 1, motor: 1 });
    const plans = scheduleFaults(
      input({ machines, tickMs, durationMs, random: { probability: 1, kinds: ['imbalance'], healthyFraction: 0.5 } }),
    );
    expect(plans).toHaveLength(6);
    const run = (id: string, faults: typeof plans): MachineTick[] => {
      const type = machines.find((m) => m.id === id)?.type ?? 'pump';
      const m = new Machine({ id, type, seed: 3, startMs: START, tickMs, vibrationHz: 8, faults });
      return Array.from({ length: durationMs / tickMs }, (_, k) => m.step(START + k * tickMs));
    };
    for (const plan of plans) {
      const faulty = run(plan.machine, [plan]);
      const healthy = run(plan.machine, []);
      const differs = (k: number) =>
        JSON.stringify([faulty[k]?.values, [...(faulty[k]?.vibration ?? [])]]) !==
        JSON.stringify([healthy[k]?.values, [...(healthy[k]?.vibration ?? [])]]);
      const firstChange = faulty.findIndex((_, k) => differs(k));
      // Failure takes the machine down for repair: the first tick it stops while its twin runs.
      const firstDown = faulty.findIndex((t, k) => t.running !== healthy[k]?.running);
      expect([plan.onset, plan.failure]).toEqual([START + firstChange * tickMs, START + firstDown * tickMs]);
    }
  });

  it('moves configured fault times to the next tick, and refuses a fault that starts and fails within one tick', () => {
    const machines = [{ id: 'p1', type: 'pump' as const }];
    const at = (onset: number, failure: number) =>
      scheduleFaults(
        input({ machines, tickMs: 10_000, repairMs: 25_000, random: undefined, explicit: [{ machine: 'p1', fault: 'imbalance', onset, failure }] }),
      );
    expect(at(START + 10_001, START + 40_000)).toEqual([
      // Repair ends 25 s after failure, between ticks: the machine runs again at the next one.
      { machine: 'p1', fault: 'imbalance', onset: START + 20_000, failure: START + 40_000, recovered: START + 70_000, sensors: ['vibration'] },
    ]);
    expect(() => at(START + 10_001, START + 19_999)).toThrow(/faults\.scheduled\[0\]\.failure: falls in the same tick as onset \(2024-01-01T00:00:20\.000Z\)/);
  });

  it('round-trips through the ground-truth JSON with ISO times', () => {
    const plans = scheduleFaults(input({ machines: fleetFromMix(40, { pump: 1 }) }));
    const json = JSON.parse(JSON.stringify(toGroundTruth(plans))) as unknown;
    expect((json as { onset: string }[])[0]?.onset).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(parseGroundTruth(json)).toEqual(plans);
    expect(() => parseGroundTruth([{ machine: 'a', fault: 'rust', onset: 'x' }])).toThrow(/ground truth\[0\]\.fault/);
  });
});
