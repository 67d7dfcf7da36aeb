// The load: a simulated fleet publishing over MQTT (QoS 1, as the users file's FLEET_USER) to a
// gateway in real time, with every
// tick also written to CSV, so a test knows exactly which readings it sent, and so which windows they
// fall into and what each window must hold (sent.ts).
import { type FaultPlan, noChaos, runSimulation } from '@pdm/simulator';
import { expect } from 'vitest';
import { FLEET, FLEET_SEED, TICK_MS, VIBRATION_HZ, WINDOW_MS } from './fleet-shape.js';
import { readingsSent, type SentReadings } from './sent.js';
import { FLEET_USER } from './services.js';
import type { WindowKey } from './windows.js';

/** Longer than any test runs: a test always ends the run with stop(). */
const MAX_RUN_MS = 30 * 60_000;

/** Every reading the fleet sent, and the windows they fall into. */
export interface Sent {
  windows: Set<WindowKey>;
  readings: SentReadings;
}

export interface FleetRun {
  /** Event time (ms) the fleet has reached. */
  virtualTs(): number;
  /**
   * Stops generating and waits until the broker acked every publish (none may be lost); resolves
   * with what the fleet sent.
   */
  stop(): Promise<Sent>;
}

export interface FleetOptions {
  /** Event time of the first tick, a whole window (default: the current one), so faults can be placed. */
  startMs?: number;
  /** Faults the simulator injects (event time). */
  faults?: FaultPlan[];
  /** Sensors whose device clock is off: machine → sensor → ms added to the ts they report. */
  sensorClockSkewMs?: Record<string, Record<string, number>>;
}

export function startFleet(mqttPort: number, csvDir: string, options: FleetOptions = {}): FleetRun {
  const startMs = options.startMs ?? Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const abort = new AbortController();
  let reached = startMs;
  const shape = { seed: FLEET_SEED, startMs, tickMs: TICK_MS, vibrationHz: VIBRATION_HZ, machines: FLEET, faults: options.faults ?? [] };
  const run = runSimulation(
    {
      ...shape,
      durationMs: MAX_RUN_MS,
      chaos: { ...noChaos(), sensorClockSkewMs: options.sensorClockSkewMs },
      mqtt: { urls: [`mqtt://127.0.0.1:${mqttPort}`], qos: 1, format: 'batch', clientIdPrefix: 'faults-fleet', username: FLEET_USER.username, password: FLEET_USER.password },
      outDir: csvDir,
      speed: 1,
      rate: Infinity,
    },
    { signal: abort.signal, progressIntervalMs: 50, onProgress: (p) => (reached = p.virtualTs) },
  );
  run.catch(() => {}); // surfaced by stop()
  return {
    virtualTs: () => reached,
    async stop() {
      abort.abort();
      const result = await run;
      expect(result.mqtt?.lost, 'readings the broker never acked').toBe(0);
      const readings = readingsSent({ ...shape, csvDir, sensorClockSkewMs: options.sensorClockSkewMs });
      return { windows: new Set(readings.keys()), readings };
    },
  };
}
