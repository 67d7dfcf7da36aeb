// Synthetic MachineWindows for tests: deterministic statistics per (machine, window index), with an
// optional fault that shifts every sensor's level and spread far outside the normal range.
import { create, MachineWindowSchema, SensorStatsSchema, CloseReason, type MachineWindow } from '@pdm/proto';
import { twoPassStatistics } from '@pdm/proto/testing';

export const WINDOW_MS = 10_000;
export const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
export const SENSORS = ['temp', 'vib', 'current'] as const;

export interface WindowSpec {
  machine?: string;
  site?: string;
  gateway?: string;
  /** Window index from T0. */
  index?: number;
  revision?: number;
  faulty?: boolean;
  sensors?: readonly string[];
}

/** A small deterministic wobble so normal windows are not all identical. */
const wobble = (seed: number) => Math.sin(seed * 12.9898) * 0.5;

export function makeWindow(spec: WindowSpec = {}): MachineWindow {
  const index = spec.index ?? 0;
  const start = BigInt(T0 + index * WINDOW_MS);
  const shift = spec.faulty ? 8 : 0;
  return create(MachineWindowSchema, {
    gatewayId: spec.gateway ?? 'gw-1',
    siteId: spec.site ?? 'plant-1',
    machineId: spec.machine ?? 'pump-1',
    windowStart: start,
    windowEnd: start + BigInt(WINDOW_MS),
    featureVersion: 1,
    revision: spec.revision ?? 0,
    closeReason: CloseReason.WATERMARK,
    sensors: (spec.sensors ?? SENSORS).map((sensorId, i) => {
      const base = 10 * (i + 1) + wobble(index * 7 + i) + shift * (i + 1);
      const std = 1 + 0.1 * wobble(index + i) + shift;
      return create(SensorStatsSchema, {
        sensorId,
        count: 100,
        expectedCount: 100,
        mean: base,
        variance: std * std,
        std,
        min: base - 3 * std,
        max: base + 3 * std,
        rms: Math.sqrt(base * base + std * std),
        peakToPeak: 6 * std,
        skewness: 0.1 * wobble(index),
        kurtosis: 3 + 0.2 * wobble(index + 1),
        crestFactor: (base + 3 * std) / Math.sqrt(base * base + std * std),
        lateCount: 0,
      });
    }),
  });
}

/** A complete window of `machineId` holding exactly `readings` per sensor, statistics computed two-pass. */
export function windowOfReadings(spec: { machineId: string; siteId?: string; startMs: number; windowMs: number; readings: Record<string, number[]> }): MachineWindow {
  return create(MachineWindowSchema, {
    gatewayId: 'gw-test',
    siteId: spec.siteId ?? 'site-test',
    machineId: spec.machineId,
    windowStart: BigInt(spec.startMs),
    windowEnd: BigInt(spec.startMs + spec.windowMs),
    featureVersion: 1,
    sensors: Object.entries(spec.readings).map(([sensorId, values]) => create(SensorStatsSchema, { sensorId, expectedCount: values.length, ...twoPassStatistics(values) })),
    revision: 0,
    closeReason: CloseReason.WATERMARK,
  });
}
