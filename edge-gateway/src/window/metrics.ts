/** Counters and gauges of a WindowEngine, for the host's pipeline metrics. */
export interface WindowEngineMetrics {
  machines: number;
  sensors: number;
  /** Machine panes holding data and not closed yet: windows when tumbling, hops when hopping. */
  openWindows: number;
  /** Sensor panes holding state: open ones plus closed ones kept for hopping merges or revisions. */
  retainedPanes: number;
  /** Rough size of all that state in bytes (V8 object and Map entry overheads, estimated). */
  approxStateBytes: number;
  readingsAccepted: number;
  /** Readings for closed windows within the revise horizon (folded in when lateMode is 'revise'). */
  lateReadings: number;
  /** Readings for closed windows beyond the revise horizon: counted, never used. */
  tooLateReadings: number;
  /** Non-finite values or timestamps outside the representable date range: counted, never used. */
  invalidReadings: number;
  evictedSensors: number;
  /** Machine windows emitted, revisions included. */
  windowsEmitted: number;
  revisionsEmitted: number;
  /** Machines taken back from a checkpoint (at start, or recalled when a forgotten machine returned). */
  machinesRestored: number;
  /** Checkpoints that could not be read (another version, corrupt): their machines start afresh. */
  checkpointsRefused: number;
}

// Estimates for approxStateBytes: a Pane is 8 doubles plus object header, a Map entry ~40 bytes;
// a sensor or machine carries a few Maps and fields. Good to a factor of two, which is what a
// memory gauge needs.
export const APPROX_PANE_BYTES = 120;
export const APPROX_SENSOR_BYTES = 400;
export const APPROX_MACHINE_BYTES = 600;
