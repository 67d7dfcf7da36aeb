import { CloseReason } from '@pdm/proto';
import type { MachineWindow } from '@pdm/proto';

/** A MachineWindow as a plain JSON object: proto field names, epoch ms as numbers, the close reason by name. */
export interface MachineWindowJson {
  gateway_id: string;
  site_id: string;
  machine_id: string;
  window_start: number;
  window_end: number;
  feature_version: number;
  revision: number;
  close_reason: string;
  sensors: SensorStatsJson[];
}

export interface SensorStatsJson {
  sensor_id: string;
  count: number;
  expected_count: number;
  mean: number;
  variance: number;
  std: number;
  min: number;
  max: number;
  rms: number;
  peak_to_peak: number;
  skewness: number;
  kurtosis: number;
  crest_factor: number;
  late_count: number;
}

/**
 * For JSON lines (`JSON.stringify(machineWindowToJson(w))`): bigint epoch ms become numbers, exact up
 * to 2^53 ms (year 287 396), and the close reason is its enum name (WATERMARK, IDLE_TIMEOUT…).
 */
export function machineWindowToJson(w: MachineWindow): MachineWindowJson {
  return {
    gateway_id: w.gatewayId,
    site_id: w.siteId,
    machine_id: w.machineId,
    window_start: Number(w.windowStart),
    window_end: Number(w.windowEnd),
    feature_version: w.featureVersion,
    revision: w.revision,
    close_reason: CloseReason[w.closeReason],
    sensors: w.sensors.map((s) => ({
      sensor_id: s.sensorId,
      count: s.count,
      expected_count: s.expectedCount,
      mean: s.mean,
      variance: s.variance,
      std: s.std,
      min: s.min,
      max: s.max,
      rms: s.rms,
      peak_to_peak: s.peakToPeak,
      skewness: s.skewness,
      kurtosis: s.kurtosis,
      crest_factor: s.crestFactor,
      late_count: s.lateCount,
    })),
  };
}
