import { CloseReason, sensorStatsByName } from '@pdm/proto';
import type { MachineWindow, SensorStatName } from '@pdm/proto';

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

/** One sensor's statistics under their proto names (see SENSOR_STAT_FIELDS). */
export type SensorStatsJson = { sensor_id: string } & Record<SensorStatName, number>;

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
    sensors: w.sensors.map((s) => ({ sensor_id: s.sensorId, ...sensorStatsByName(s) })),
  };
}
