import { describe, expect, it } from 'vitest';
import { fleetFromMix } from '../fleet/fleet.js';
import { FAULT_KINDS } from './catalogue.js';
import { parseGroundTruth, toGroundTruth } from './ground-truth.js';
import { type FaultScheduleInput, scheduleFaults } from './schedule.js';

const START = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;
const input = (over: Partial<FaultScheduleInput> = {}): FaultScheduleInput => ({
  seed: 3,
  startMs: START,
  durationMs: 7 * DAY,
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

  it('round-trips through the ground-truth JSON with ISO times', () => {
    const plans = scheduleFaults(input({ machines: fleetFromMix(40, { pump: 1 }) }));
    const json = JSON.parse(JSON.stringify(toGroundTruth(plans))) as unknown;
    expect((json as { onset: string }[])[0]?.onset).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(parseGroundTruth(json)).toEqual(plans);
    expect(() => parseGroundTruth([{ machine: 'a', fault: 'rust', onset: 'x' }])).toThrow(/ground truth\[0\]\.fault/);
  });
});
