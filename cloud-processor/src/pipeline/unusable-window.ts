// A window the processor can never use, however often it is retried: it has no machine to key its
// revision and alert state by, no sensor or site to tag its InfluxDB points with (InfluxDB refuses an
// empty tag value, and with it the whole write the point joins, other windows' points included), or
// bounds that describe no window. Such a window is a fault of its publisher, never of the processor.
// Statistics that are merely bad (non-finite, incomplete) are not this: the model contract refuses
// them (`contract_mismatch`) and the features are still stored.
import type { MachineWindow } from '@pdm/proto';

/** Why `window` can never be used, or undefined when it can. */
export function unusableWindowReason(window: MachineWindow): string | undefined {
  if (window.machineId === '') return 'no machine_id';
  if (window.siteId === '' || window.gatewayId === '') return `no site_id or gateway_id (machine "${window.machineId}")`;
  if (window.windowEnd <= window.windowStart) return `window_end ${window.windowEnd} is not after window_start ${window.windowStart} (machine "${window.machineId}")`;
  const unnamed = window.sensors.findIndex((s) => s.sensorId === '');
  if (unnamed >= 0) return `sensor ${unnamed} has no sensor_id (machine "${window.machineId}")`;
  return undefined;
}
